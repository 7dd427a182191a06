import pino, { type Logger } from 'pino';

/** The process logger: JSON lines (pino), level from LOG_LEVEL. */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, base: { pid: process.pid } });
}
