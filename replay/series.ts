/**
 * Counters over event time, in buckets whose width grows with the range
 * seen, so a replay of ten minutes and one of a year both end up with a few
 * hundred points per series and bounded memory. Widths come from one
 * ladder in which each width divides the next, and buckets are aligned to
 * the epoch, so re-bucketing to a wider width is exact and two series (two
 * variants) can always be put on one axis.
 */

export const BUCKET_WIDTHS = [
  { label: '1m', ms: 60_000 },
  { label: '5m', ms: 5 * 60_000 },
  { label: '15m', ms: 15 * 60_000 },
  { label: '1h', ms: 3_600_000 },
  { label: '6h', ms: 6 * 3_600_000 },
  { label: '1d', ms: 86_400_000 },
  { label: '7d', ms: 7 * 86_400_000 },
  { label: '28d', ms: 28 * 86_400_000 },
  { label: '364d', ms: 364 * 86_400_000 },
] as const;

/** Most buckets a series keeps before it moves to the next width. */
export const MAX_BUCKETS = 400;

/** Sums per key per time bucket. */
export class CounterSeries {
  private level = 0;
  /** bucket index -> key -> sum */
  private buckets = new Map<number, Map<string, number>>();
  private first = Infinity;
  private last = -Infinity;

  get widthMs(): number {
    return BUCKET_WIDTHS[this.level]!.ms;
  }

  get widthLevel(): number {
    return this.level;
  }

  /** Earliest and latest time added (not bucket bounds); undefined when empty. */
  get span(): { first: number; last: number } | undefined {
    return this.first <= this.last ? { first: this.first, last: this.last } : undefined;
  }

  add(time: number, key: string, by = 1): void {
    if (!Number.isFinite(time)) return;
    if (time < this.first) this.first = time;
    if (time > this.last) this.last = time;
    while (this.level < BUCKET_WIDTHS.length - 1 && (this.last - this.first) / this.widthMs >= MAX_BUCKETS) this.coarsen();
    const index = Math.floor(time / this.widthMs);
    let bucket = this.buckets.get(index);
    if (!bucket) this.buckets.set(index, (bucket = new Map()));
    bucket.set(key, (bucket.get(key) ?? 0) + by);
  }

  keys(): string[] {
    const keys = new Set<string>();
    for (const bucket of this.buckets.values()) for (const key of bucket.keys()) keys.add(key);
    return [...keys].sort();
  }

  /** Sum per key over every bucket. */
  totals(): Map<string, number> {
    const totals = new Map<string, number>();
    for (const bucket of this.buckets.values()) for (const [key, n] of bucket) totals.set(key, (totals.get(key) ?? 0) + n);
    return totals;
  }

  /** Sums per key over an axis (bucket start times of `axis.widthMs`, which must be this series' width or wider). */
  dense(axis: TimeAxis, key: string): number[] {
    if (axis.widthMs % this.widthMs !== 0) throw new RangeError(`axis width ${axis.widthMs} ms is not a multiple of the series width ${this.widthMs} ms`);
    const values = new Array<number>(axis.starts.length).fill(0);
    const first = axis.starts[0];
    if (first === undefined) return values;
    for (const [index, bucket] of this.buckets) {
      const n = bucket.get(key);
      if (n === undefined) continue;
      const slot = Math.floor((index * this.widthMs - first) / axis.widthMs);
      if (slot >= 0 && slot < values.length) values[slot]! += n;
    }
    return values;
  }

  /** Everything added before the axis starts, per key (e.g. segment entries before the report window). */
  before(time: number, key: string): number {
    let sum = 0;
    for (const [index, bucket] of this.buckets) if ((index + 1) * this.widthMs <= time) sum += bucket.get(key) ?? 0;
    return sum;
  }

  private coarsen(): void {
    const from = this.widthMs;
    this.level++;
    const factor = this.widthMs / from;
    const next = new Map<number, Map<string, number>>();
    for (const [index, bucket] of this.buckets) {
      const target = Math.floor(index / factor);
      let merged = next.get(target);
      if (!merged) next.set(target, (merged = new Map()));
      for (const [key, n] of bucket) merged.set(key, (merged.get(key) ?? 0) + n);
    }
    this.buckets = next;
  }
}

/** Bucket start times shared by every chart of a report. */
export interface TimeAxis {
  widthMs: number;
  label: string;
  starts: number[];
}

/**
 * One axis for several series over [from, to]: the widest of their widths
 * (and wide enough for the range to fit MAX_BUCKETS), from the bucket
 * holding `from` to the one holding `to`.
 */
export function commonAxis(series: readonly CounterSeries[], from: number, to: number): TimeAxis {
  let level = Math.max(0, ...series.map((s) => s.widthLevel));
  if (!(from <= to)) return { widthMs: BUCKET_WIDTHS[level]!.ms, label: BUCKET_WIDTHS[level]!.label, starts: [] };
  while (level < BUCKET_WIDTHS.length - 1 && (to - from) / BUCKET_WIDTHS[level]!.ms >= MAX_BUCKETS) level++;
  const width = BUCKET_WIDTHS[level]!;
  const starts: number[] = [];
  for (let t = Math.floor(from / width.ms) * width.ms; t <= to; t += width.ms) starts.push(t);
  return { widthMs: width.ms, label: width.label, starts };
}

/** Running totals: what a gauge built from +1/-1 deltas reads at the end of each bucket. */
export function cumulative(values: readonly number[], start = 0): number[] {
  let sum = start;
  return values.map((v) => (sum += v));
}
