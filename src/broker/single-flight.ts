/**
 * Collapses concurrent calls for one key into one: the first caller starts the work, everyone who asks
 * while it runs gets the same promise. Once it settles the key is free again, so a failure is not cached
 * and the next caller retries. This is what keeps N concurrent cold calls from becoming N token grants.
 */
export interface SingleFlight<V> {
  run(key: string, work: () => Promise<V>): Promise<V>;
  /** Keys with work in progress (for metrics and tests). */
  readonly inFlight: number;
}

export function createSingleFlight<V>(): SingleFlight<V> {
  const running = new Map<string, Promise<V>>();
  return {
    run(key, work) {
      const existing = running.get(key);
      if (existing) return existing;
      const p = (async () => {
        try {
          return await work();
        } finally {
          running.delete(key);
        }
      })();
      running.set(key, p);
      return p;
    },
    get inFlight() {
      return running.size;
    },
  };
}
