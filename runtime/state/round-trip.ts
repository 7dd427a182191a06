/**
 * Where `after` (a value read back from its bytes) differs from `before`
 * (the value as processors left it), as a path like `engagement.pending[0].at`;
 * undefined when it reads back the same. A key whose value is undefined
 * counts as absent, and 0 as -0 (JSON and Avro may drop the one and the
 * sign); anything else that changes (Infinity or NaN turned into null, a
 * Date into a string, a field the serde does not know) is a difference: a
 * processor would see another value after a restore than before it.
 */
export function roundTripDifference(before: unknown, after: unknown, path = ''): string | undefined {
  if (typeof before !== 'object' || before === null || typeof after !== 'object' || after === null) {
    // === takes 0 for -0; Object.is takes NaN for NaN
    if (before === after || Object.is(before, after)) return undefined;
    return `${path || '(the value)'}: ${describe(before)} reads back as ${describe(after)}`;
  }
  if (ArrayBuffer.isView(before) || ArrayBuffer.isView(after)) {
    const equal = ArrayBuffer.isView(before) && ArrayBuffer.isView(after) && Buffer.from(before.buffer, before.byteOffset, before.byteLength).equals(Buffer.from(after.buffer, after.byteOffset, after.byteLength));
    return equal ? undefined : `${path || '(the value)'}: bytes differ`;
  }
  if (Array.isArray(before) !== Array.isArray(after)) return `${path || '(the value)'}: ${Array.isArray(before) ? 'an array' : 'an object'} reads back as ${Array.isArray(after) ? 'an array' : 'an object'}`;
  if (Array.isArray(before) && Array.isArray(after)) {
    if (before.length !== after.length) return `${path}: ${before.length} elements read back as ${after.length}`;
    for (let i = 0; i < before.length; i++) {
      const difference = roundTripDifference(before[i], after[i], `${path}[${i}]`);
      if (difference !== undefined) return difference;
    }
    return undefined;
  }
  const a = before as Record<string, unknown>;
  const b = after as Record<string, unknown>;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) {
    const difference = roundTripDifference(a[key], b[key], path ? `${path}.${key}` : key);
    if (difference !== undefined) return difference;
  }
  return undefined;
}

function describe(value: unknown): string {
  if (typeof value === 'number' || value === undefined || value === null) return String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return typeof value === 'object' ? (Array.isArray(value) ? 'an array' : 'an object') : typeof value;
}
