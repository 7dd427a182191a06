import { join } from 'node:path';
import pino, { type Logger } from 'pino';

/** Where integration tests write the logs of what they run (reports/test-logs, ignored by git). */
export const TEST_LOGS = join(__dirname, '..', '..', 'reports', 'test-logs');

/** A logger writing to reports/test-logs/<name>.log (created on a fresh clone), for reading after a failure. */
export function testLog(name: string, level = process.env.TEST_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level }, pino.destination({ dest: join(TEST_LOGS, `${name}.log`), mkdir: true, sync: true }));
}
