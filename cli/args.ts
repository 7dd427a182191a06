import { parseDuration } from '../config/duration';

/** A bad command line: the CLIs print its message and the usage, and exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** `--name text` as a whole number >= min; `fallback` when the option is absent. */
export function wholeNumber(name: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name} ${text}: expected a whole number >= ${min}`);
  return n;
}

/** `--name text` as a finite number above 0; undefined when the option is absent. */
export function positiveNumber(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!(n > 0) || !Number.isFinite(n)) throw new UsageError(`--${name} ${text}: expected a number above 0`);
  return n;
}

/** `--name 30m` in milliseconds, in the form config files use (config/duration.ts). */
export function durationOption(name: string, text: string): number {
  try {
    return parseDuration(text.trim());
  } catch {
    throw new UsageError(`--${name} ${text}: not a duration (examples: 500ms, 45s, 30m, 2h, 7d)`);
  }
}

/**
 * For a CLI's parse step: a UsageError is printed with the usage and becomes
 * exit code 2; anything else is not the user's typing and is thrown on.
 */
export function usageFailure(error: unknown, usage: string): number {
  if (!(error instanceof UsageError)) throw error;
  process.stderr.write(`error: ${error.message}\n\n${usage}`);
  return 2;
}
