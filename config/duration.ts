/**
 * Durations in config files are written as text: `500ms`, `45s`, `30m`,
 * `2h`, `7d`, `2w`. Schemas accept them with DURATION_PATTERN; the
 * compiled config holds milliseconds.
 */
export const DURATION_PATTERN = '^[0-9]+(ms|s|m|h|d|w)$';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export const durationSchema = { type: 'string', pattern: DURATION_PATTERN } as const;

/** `30m` -> 1800000. Throws on text the schema would refuse. */
export function parseDuration(text: string): number {
  const match = /^([0-9]+)(ms|s|m|h|d|w)$/.exec(text);
  if (!match) throw new RangeError(`'${text}' is not a duration (e.g. 500ms, 45s, 30m, 2h, 7d, 2w)`);
  return Number(match[1]) * UNIT_MS[match[2]!]!;
}

/** Reads a duration field of a config file, or fails naming the path and the accepted form. */
export function durationAt(text: unknown, path: string, fail: (path: string, problem: string) => never): number {
  const ms = typeof text === 'string' && new RegExp(DURATION_PATTERN).test(text) ? parseDuration(text) : 0;
  if (ms === 0) {
    fail(path, `${JSON.stringify(text)} is not a duration: write a positive whole number and a unit (ms, s, m, h, d, w), e.g. 30m or 7d`);
  }
  return ms;
}

/** 5400000 -> `1h30m`: for decision details, short and exact. */
export function formatDuration(ms: number): string {
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms < 1000) return `${ms}ms`;
  const parts: string[] = [];
  let rest = Math.floor(ms / 1000);
  for (const [unit, size] of [['d', 86_400], ['h', 3_600], ['m', 60], ['s', 1]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('');
}
