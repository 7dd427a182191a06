import { produceChunks } from '../../../runtime/kafka/produce-chunks';
import type { OutputRecord } from '../../../runtime/records';

function record(i: number, valueBytes: number): OutputRecord {
  return { topic: 't', partition: i % 3, key: Buffer.from(`k${i}`), value: Buffer.alloc(valueBytes, 1), headers: { h: 'x' }, timestamp: i };
}

describe('produceChunks', () => {
  it('keeps every record, in order, and cuts at the record limit', () => {
    const records = Array.from({ length: 25 }, (_, i) => record(i, 10));
    const chunks = [...produceChunks(records, { records: 10, bytes: 1e9 })];
    expect(chunks.map((c) => c.length)).toEqual([10, 10, 5]);
    expect(chunks.flat()).toEqual(records);
  });

  it('cuts before a record that would take a request over the byte limit', () => {
    // 2,000 records of ~2 KB: one request would hold ~4 MB, over the broker's 1 MiB batch limit.
    const records = Array.from({ length: 2000 }, (_, i) => record(i, 2000));
    const limits = { records: 2000, bytes: 512 * 1024 };
    const chunks = [...produceChunks(records, limits)];
    expect(chunks.length).toBeGreaterThan(7);
    for (const chunk of chunks) {
      expect(chunk.reduce((sum, r) => sum + r.key!.length + r.value!.length, 0)).toBeLessThanOrEqual(limits.bytes);
    }
    expect(chunks.flat()).toEqual(records);
  });

  it('sends a record larger than the limit on its own rather than dropping it', () => {
    const records = [record(0, 10), record(1, 5000), record(2, 10)];
    expect([...produceChunks(records, { records: 100, bytes: 1000 })].map((c) => c.map((r) => r.timestamp))).toEqual([[0], [1], [2]]);
  });

  it('yields nothing for no records', () => {
    expect([...produceChunks([])]).toEqual([]);
  });
});
