/**
 * Durations in config files are written as text: `500ms`, `45s`, `30m`,
 * `2h`, `7d`, `2w`. Schemas accept them with the `duration` format (0s
 * allowed) or `positive-duration` (registered in config/load.ts); the
 * compiled config holds milliseconds.
 */
const DURATION = /^([0-9]+)(ms|s|m|h|d|w)$/;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export const durationSchema = { type: 'string', format: 'duration' } as const;
export const positiveDurationSchema = { type: 'string', format: 'positive-duration' } as const;

export function isDuration(text: string): boolean {
  return DURATION.test(text);
}

export function isPositiveDuration(text: string): boolean {
  return DURATION.test(text) && parseDuration(text) > 0;
}

/** `30m` -> 1800000. Throws on text the schema would refuse. */
export function parseDuration(text: string): number {
  const match = DURATION.exec(text);
  if (!match) throw new RangeError(`'${text}' is not a duration (e.g. 500ms, 45s, 30m, 2h, 7d, 2w)`);
  return Number(match[1]) * UNIT_MS[match[2]!]!;
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
