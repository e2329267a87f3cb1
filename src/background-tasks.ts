import type { Logger } from './logger.js';

/**
 * Work that must not hold up a response (recording webhook sightings, say), but must not be lost or
 * crash the process either: failures are logged, and `drain()` lets shutdown and tests wait for it.
 */
export interface BackgroundTasks {
  run(name: string, work: () => Promise<void>): void;
  drain(): Promise<void>;
  readonly pending: number;
}

export function createBackgroundTasks(logger: Logger): BackgroundTasks {
  const running = new Set<Promise<void>>();
  return {
    run(name, work) {
      const p: Promise<void> = (async () => {
        try {
          await work();
        } catch (err) {
          logger.error({ err, task: name }, `background task ${name} failed`);
        }
      })().finally(() => running.delete(p));
      running.add(p);
    },
    async drain() {
      while (running.size > 0) await Promise.all([...running]);
    },
    get pending() {
      return running.size;
    },
  };
}
