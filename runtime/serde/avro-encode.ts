import type { Type } from 'avsc';

/** Grows to the largest record encoded so far; records are encoded one at a time, synchronously. */
let scratch = Buffer.allocUnsafe(16 * 1024);

/**
 * `prefix` then the Avro encoding of `value`, in one new buffer of the
 * exact size: the value is encoded once and copied once. avsc's `toBuffer`
 * encodes into a shared 1 KiB buffer and, for a larger value, encodes it
 * all again into a new one (a profile is about 2 KB: every profile was
 * encoded twice), and putting a header in front cost a `Buffer.concat`.
 */
export function encodeAfter(prefix: Uint8Array, type: Type, value: unknown): Buffer {
  scratch.set(prefix, 0);
  let end = type.encode(value, scratch, prefix.length);
  if (end < 0) {
    // A negative answer is minus the bytes missing: grow once to fit, with room to spare.
    scratch = Buffer.allocUnsafe(2 * (scratch.length - end));
    scratch.set(prefix, 0);
    end = type.encode(value, scratch, prefix.length);
  }
  return Buffer.from(scratch.subarray(0, end));
}
