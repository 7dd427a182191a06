/**
 * Seeded randomness for the simulator. Never Math.random: every draw comes
 * from a small PRNG whose state is derived from the run's seed and a stable
 * key (a person's index, a command id), so a run is reproducible and one
 * person's behaviour does not depend on how many other people are simulated.
 */

/** mulberry32: a 32-bit state, fast, good enough statistically for simulation. */
export class Rng {
  constructor(private state: number) {
    this.state = state | 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** true with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Whole number in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Whole number in [min, max]. */
  intBetween(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** Uniform in [min, max). */
  between(min: number, max: number): number {
    return min + this.next() * (max - min);
  }

  /** Exponential with the given mean. */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /** 1 + a geometric count with mean `mean` (>= 1), capped at `max`. */
  countAtLeastOne(mean: number, max: number): number {
    if (mean <= 1) return 1;
    const p = 1 / mean;
    const n = 1 + Math.floor(Math.log(1 - this.next()) / Math.log(1 - p));
    return n > max ? max : n;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
}

/**
 * Weighted choice in O(log n): cumulative weights, binary search. Built
 * once (from config), drawn from per event.
 */
export class Weighted<T> {
  private readonly cumulative: Float64Array;
  readonly total: number;

  constructor(
    readonly items: readonly T[],
    weights: readonly number[],
  ) {
    if (items.length === 0 || items.length !== weights.length) throw new RangeError('Weighted needs one weight per item and at least one item');
    this.cumulative = new Float64Array(weights.length);
    let sum = 0;
    for (let i = 0; i < weights.length; i++) {
      if (!(weights[i]! >= 0)) throw new RangeError(`weight ${weights[i]} must be >= 0`);
      sum += weights[i]!;
      this.cumulative[i] = sum;
    }
    if (sum <= 0) throw new RangeError('weights must not all be 0');
    this.total = sum;
  }

  static of<T extends string>(weights: Readonly<Record<T, number>>): Weighted<T> {
    const keys = Object.keys(weights) as T[];
    return new Weighted(keys, keys.map((k) => weights[k]));
  }

  draw(rng: Rng): T {
    const x = rng.next() * this.total;
    const c = this.cumulative;
    let lo = 0;
    let hi = c.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (c[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return this.items[lo]!;
  }

  /** The probability of item i. */
  share(i: number): number {
    return (this.cumulative[i]! - (i > 0 ? this.cumulative[i - 1]! : 0)) / this.total;
  }
}

/** 32-bit mixing function (murmur3 fmix). */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** A stable 32-bit hash of numbers: the seed of one person's or one command's PRNG. */
export function hashInts(...values: number[]): number {
  let h = 0x9e3779b9;
  for (const v of values) h = mix32((h ^ mix32(v | 0)) + 0x7f4a7c15 + ((v / 4294967296) | 0));
  return h;
}

/** FNV-1a of a string, mixed: for keys like command ids. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}

/** A stable 32-bit seed from a run seed and a text key. */
export function seedFor(seed: number, key: string): number {
  return hashInts(seed, hashString(key));
}

const HEX = '0123456789abcdef';

/** `n` hex digits from a 32-bit value sequence: ids that look like a channel's ids. */
export function hexId(rng: Rng, digits: number): string {
  let out = '';
  for (let i = 0; i < digits; i++) out += HEX[rng.int(16)]!;
  return out;
}

/** A UUID-shaped (version 4 layout) id drawn from `rng`. */
export function uuidFrom(rng: Rng): string {
  const a = hex8(rng);
  const b = hex8(rng);
  const c = hex8(rng);
  const d = hex8(rng);
  return `${a}-${b.slice(0, 4)}-4${b.slice(5, 8)}-${HEX[8 + (c.charCodeAt(0) & 3)]}${c.slice(1, 4)}-${c.slice(4, 8)}${d}`;
}

function hex8(rng: Rng): string {
  return Math.floor(rng.next() * 4294967296)
    .toString(16)
    .padStart(8, '0');
}
