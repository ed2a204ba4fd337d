import { pino, type Logger as PinoLogger } from 'pino';

/** Components take a Logger and make children with a `component` label; there is no global logger. */
export type Logger = PinoLogger;

export function createLogger(level = process.env.KESTREL_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime });
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
