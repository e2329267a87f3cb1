import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config.js';
import { redact, redactString } from './redact.js';

export type { Logger } from 'pino';

/**
 * JSON-lines logger. Every line passes through `redact()`, so a token that reaches a log call by accident
 * (inside an error, a header object or a URL) is scrubbed rather than written.
 */
export function createLogger(options: { level: LogLevel; destination?: DestinationStream; name?: string }): Logger {
  return pino(
    {
      level: options.level,
      name: options.name ?? 'onbehalf',
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => redact(object),
      },
      // Error objects bypass `formatters.log` in pino's default serializer; route them through redact too.
      serializers: { err: (e: unknown) => redact(e), error: (e: unknown) => redact(e) },
      hooks: {
        logMethod(args, method) {
          // The message string itself (printf-style args included) is scrubbed as well.
          const cleaned = args.map((a) => (typeof a === 'string' ? redactString(a) : a)) as Parameters<typeof method>;
          method.apply(this, cleaned);
        },
      },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/** A logger that writes nothing, for tests and library use without logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
