import { parseArgs } from 'node:util';
import { parseDuration } from '../config/duration';

/**
 * The command lines of demo, simulate, replay and proof: each declares its
 * options once (name, type, default, help text); `parseOptions` reads them
 * into typed values and `usage` writes the --help text from the same
 * declaration, so the two cannot drift apart.
 */

/** A bad command line: the CLIs print its message and the usage, and exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** One option: how it reads and how --help shows it. */
export interface Option<T> {
  type: 'string' | 'boolean';
  /** What follows the option in the help (`N`, `FILE`); none for a flag. */
  arg?: string;
  /** Lines after the first are continued under it. */
  help: string;
  /** Shown as ` (default …)` after the help. */
  shownDefault?: string;
  /** A heading this option starts in the help ('' for just a blank line). */
  section?: string;
  /** `text` is what followed the option (true for a flag given), undefined when it is absent. */
  read(text: string | true | undefined, name: string): T;
}

export type Options = Record<string, Option<unknown>>;
export type Values<O extends Options> = { [K in keyof O]: O[K] extends Option<infer T> ? T : never } & { help: boolean };

const HELP: Option<boolean> = { type: 'boolean', help: 'this text', read: (text) => text === true };

/** Reads `argv` against the declaration; a UsageError names the option at fault. */
export function parseOptions<O extends Options>(options: O, argv: string[]): Values<O> {
  const declared = { ...options, help: HELP };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: Object.fromEntries(Object.entries(declared).map(([name, option]) => [name, { type: option.type, ...(name === 'help' ? { short: 'h' } : {}) }])),
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return Object.fromEntries(Object.entries(declared).map(([name, option]) => [name, option.read(values[name] as string | true | undefined, name)])) as Values<O>;
}

/** `head`, the options as declared (one column for the names, one for the help), then `tail`. */
export function usage(head: string, options: Options, tail = ''): string {
  const declared = Object.entries({ ...options, help: HELP });
  const names = declared.map(([name, option]) => `  --${name}${option.arg ? ` ${option.arg}` : ''}`);
  const column = Math.max(...names.map((n) => n.length)) + 2;
  const lines = declared.flatMap(([, option], i) => {
    const help = `${option.help}${option.shownDefault === undefined ? '' : ` (default ${option.shownDefault})`}`.split('\n');
    const heading = option.section === undefined ? [] : ['', ...(option.section ? [option.section] : [])];
    return [...heading, `${names[i]!.padEnd(column)}${help[0]}`, ...help.slice(1).map((line) => `${' '.repeat(column)}${line}`)];
  });
  return `${head}\n${lines.join('\n')}\n${tail ? `\n${tail}` : ''}`;
}

/** An option that takes a value, read by `read` from its text or from undefined when absent. */
export function custom<T>(arg: string, help: string, read: (text: string | undefined, name: string) => T, shownDefault?: string): Option<T> {
  return { type: 'string', arg, help, shownDefault, read: (text, name) => read(text === true ? undefined : text, name) };
}

/** `--name` alone: true when given. */
export function flag(help: string): Option<boolean> {
  return { type: 'boolean', help, read: (text) => text === true };
}

export function text(arg: string, help: string): Option<string | undefined>;
export function text(arg: string, help: string, fallback: string): Option<string>;
export function text(arg: string, help: string, fallback?: string): Option<string | undefined> {
  return custom(arg, help, (given) => given ?? fallback, fallback);
}

/** A whole number >= min. */
export function whole(arg: string, help: string, fallback: number, min: number): Option<number>;
export function whole(arg: string, help: string, fallback: undefined, min: number): Option<number | undefined>;
export function whole(arg: string, help: string, fallback: number | undefined, min: number): Option<number | undefined> {
  return custom(arg, help, (given, name) => (given === undefined ? fallback : wholeNumber(name, given, min)), fallback?.toString());
}

/** A finite number above 0. */
export function positive(arg: string, help: string, fallback: number): Option<number>;
export function positive(arg: string, help: string): Option<number | undefined>;
export function positive(arg: string, help: string, fallback?: number): Option<number | undefined> {
  return custom(arg, help, (given, name) => (given === undefined ? fallback : positiveNumber(name, given)), fallback?.toString());
}

/** Seconds above 0 on the command line, milliseconds in the program. */
export function seconds(help: string): Option<number | undefined>;
export function seconds(help: string, fallback: number): Option<number>;
export function seconds(help: string, fallback?: number): Option<number | undefined> {
  const read = (given: string | undefined, name: string) => {
    const s = given === undefined ? fallback : positiveNumber(name, given);
    return s === undefined ? undefined : s * 1000;
  };
  return custom('SECONDS', help, read, fallback?.toString());
}

/** Touchpoints per second, or `max` (Infinity): as fast as the broker takes them. */
export function rate(help: string, fallback: number): Option<number> {
  const read = (given: string | undefined, name: string) => (given === undefined ? fallback : given === 'max' ? Infinity : positiveNumber(name, given));
  return custom('N|max', help, read, Number.isFinite(fallback) ? String(fallback) : 'max');
}

/** A duration in the form config files use (config/duration.ts), in milliseconds. */
export function duration(help: string): Option<number | undefined> {
  return custom('DURATION', help, (given, name) => (given === undefined ? undefined : durationOption(name, given)));
}

function wholeNumber(name: string, text: string, min: number): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name} ${text}: expected a whole number >= ${min}`);
  return n;
}

function positiveNumber(name: string, text: string): number {
  const n = Number(text);
  if (!(n > 0) || !Number.isFinite(n)) throw new UsageError(`--${name} ${text}: expected a number above 0`);
  return n;
}

/** `--name 30m` in milliseconds. */
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
export function usageFailure(error: unknown, usageText: string): number {
  if (!(error instanceof UsageError)) throw error;
  process.stderr.write(`error: ${error.message}\n\n${usageText}`);
  return 2;
}

/**
 * A command's whole life: parses `argv` with `options`, prints the usage on
 * --help (exit 0) or on a usage error (exit 2), otherwise runs `main` and
 * exits with its code (1 and the error when it throws).
 */
export function runCommand<O extends Options>(options: O, usageText: string, main: (values: Values<O>) => Promise<number>, argv = process.argv.slice(2)): void {
  let values: Values<O>;
  try {
    values = parseOptions(options, argv);
  } catch (error) {
    process.exit(usageFailure(error, usageText));
  }
  if (values.help) {
    process.stdout.write(usageText);
    process.exit(0);
  }
  main(values).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
