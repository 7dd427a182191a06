/**
 * Seeded draws for Thompson sampling in arbitration. Math.random would make
 * a replay decide differently from the run it replays; every draw here comes
 * from a generator seeded by a firing's command id, so the same firing
 * draws the same numbers wherever and however often it is decided.
 */

/** Uniform on [0, 1). */
export type Uniform = () => number;

/**
 * sfc32 (Doty-Humphrey's small fast counting generator), seeded with the
 * 128 bits of a 32-character hex string such as a command id. The id is
 * already a sha256 prefix, so its bits need no further hashing; the first
 * outputs are skipped as sfc32's author advises, to mix the seed.
 */
export function seededUniform(hex128: string): Uniform {
  if (!/^[0-9a-f]{32}$/.test(hex128)) throw new RangeError(`a seed is 32 hex characters (a command id); got '${hex128}'`);
  const words = [0, 8, 16, 24].map((at) => parseInt(hex128.slice(at, at + 8), 16) | 0);
  let [a, b, c, d] = words as [number, number, number, number];
  const next: Uniform = () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 2 ** 32;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}

/** Standard normal by Box–Muller (1 - u keeps the logarithm's argument in (0, 1]). */
export function normal(uniform: Uniform): number {
  return Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/**
 * Gamma(shape, 1) for shape >= 1 by Marsaglia and Tsang (2000): exact, a
 * few draws on average. Beta posteriors Beta(1 + x, 1 + n - x) never need
 * a shape below 1, so the method's boost for small shapes is left out.
 */
export function gamma(shape: number, uniform: Uniform): number {
  if (!(shape >= 1)) throw new RangeError(`gamma shape must be >= 1 (got ${shape})`);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(uniform);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = uniform();
    if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/**
 * Beta(a, b) as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b). Exact rather
 * than the normal approximation, which goes wrong exactly where conversion
 * rates live: near 0, with few conversions (Beta(1, 31) is far from
 * symmetric, and its normal would draw negative rates).
 */
export function beta(a: number, b: number, uniform: Uniform): number {
  const x = gamma(a, uniform);
  return x / (x + gamma(b, uniform));
}

/** x conversions of n people: a draw of the rate from its posterior under a uniform prior. */
export function rateDraw(converted: number, people: number, uniform: Uniform): number {
  return beta(1 + converted, 1 + people - converted, uniform);
}
