import * as avro from 'avsc';
import { encodeAfter } from '../../../runtime/serde/avro-encode';

const type = avro.Type.forSchema({ type: 'record', name: 'Note', fields: [{ name: 'text', type: 'string' }, { name: 'n', type: 'long' }] });

describe('encodeAfter', () => {
  it.each([
    ['a small record', 10],
    ['a record over avsc’s 1 KiB buffer', 3_000],
    ['a record larger than the scratch buffer, which grows for it', 100_000],
  ])('writes the prefix and the same bytes as toBuffer, for %s', (_, length) => {
    const value = { text: 'x'.repeat(length), n: length };
    const prefix = Uint8Array.of(0, 0, 0, 0, 42);
    expect(encodeAfter(prefix, type, value).equals(Buffer.concat([prefix, type.toBuffer(value)]))).toBe(true);
  });

  it('returns buffers of their own: a later encoding does not change an earlier result', () => {
    const first = encodeAfter(Uint8Array.of(1), type, { text: 'first', n: 1 });
    const copy = Buffer.from(first);
    encodeAfter(Uint8Array.of(2), type, { text: 'second, longer than the first', n: 2 });
    expect(first).toEqual(copy);
    expect(type.fromBuffer(first.subarray(1))).toEqual({ text: 'first', n: 1 });
  });
});
