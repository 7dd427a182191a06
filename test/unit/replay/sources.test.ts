import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as avro from 'avsc';
import type { Touchpoint } from '../../../processors/model/touchpoint';
import { ArraySource, AvroFileSource, fileSource, loadRuleSet, NdjsonSource, ReplayInputError, runReplay, writeAvroFile, writeNdjsonFile, type ReplaySource } from '../../../replay';
import { mergeByTimestamp, type ReplayRecord } from '../../../replay/sources';
import { partitionForKey } from '../../../runtime/kafka/partitioner';
import { SchemaCatalog } from '../../../runtime/serde/schema-catalog';
import { SCHEMAS_DIR } from '../../../topology';
import { CONFIG_DIR, T0, tp } from '../../support/product';
import { bankDay, testRules } from './scenario';

/**
 * File inputs: NDJSON and Avro container files give the same replay as the
 * same touchpoints in memory, byte for byte; bad input is refused with its
 * file and line; topic partitions merge in (timestamp, partition) order.
 */
jest.setTimeout(60_000);

const dir = mkdtempSync(join(tmpdir(), 'lp-replay-sources-'));
const day = bankDay();
const rules = loadRuleSet('baseline', testRules(), CONFIG_DIR);

async function read(source: ReplaySource): Promise<ReplayRecord[]> {
  await source.open();
  const all: ReplayRecord[] = [];
  for await (const chunk of source.chunks(() => false)) all.push(...chunk);
  await source.close();
  return all;
}

/** The raw outputs of a replay of `source`: commands, decisions, segments, lift. */
async function outputs(source: ReplaySource): Promise<Buffer[]> {
  const out: Buffer[] = [];
  await runReplay({
    source,
    variants: [{ name: 'baseline', rules }],
    stateDir: mkdtempSync(join(tmpdir(), 'lp-replay-state-')),
    state: 'memory',
    onOutput: (_v, r) => {
      if (r.topic !== 'profiles.view') out.push(Buffer.concat([Buffer.from(`${r.topic}/${r.partition}/`), r.key ?? Buffer.alloc(0), r.value ?? Buffer.alloc(0)]));
    },
  });
  return out;
}

describe('NDJSON input', () => {
  it('replays to the same bytes as the same touchpoints in memory', async () => {
    const file = join(dir, 'day.ndjson');
    await writeNdjsonFile(file, day.touchpoints);
    const fromFile = await outputs(fileSource(file, 4));
    const fromMemory = await outputs(new ArraySource(day.touchpoints, 4));
    expect(fromFile.length).toBeGreaterThan(10);
    expect(fromFile).toEqual(fromMemory);
  });

  it('fills defaults, reads ISO times, keeps envelopes and skips blank lines', async () => {
    const file = join(dir, 'forms.ndjson');
    const lines = [
      JSON.stringify({ eventId: 'a', occurredAt: '2026-10-01T09:00:00Z', channel: 'web', eventType: 'page_view', identifiers: [{ type: 'anonymous_id', value: 'v1' }] }),
      '',
      JSON.stringify({ partition: 3, key: 'k', timestamp: T0 + 5, value: { eventId: 'b', occurredAt: T0, channel: 'app', eventType: 'login', identifiers: [{ type: 'device_id', value: 'd1' }] } }),
      '   ',
    ];
    writeFileSync(file, lines.join('\n'));
    const [a, b] = await read(new NdjsonSource(file, 4));
    expect(a!.touchpoint).toMatchObject({ eventId: 'a', occurredAt: Date.UTC(2026, 9, 1, 9), authenticated: false, page: null, attributes: {} });
    expect(a!.key!.toString()).toBe('v1');
    expect(a!.partition).toBe(partitionForKey(Buffer.from('v1'), 4));
    expect(a!.timestamp).toBe(Date.UTC(2026, 9, 1, 9));
    expect(b).toMatchObject({ partition: 3, timestamp: T0 + 5 });
    expect(b!.key!.toString()).toBe('k');
    expect(b!.touchpoint!.eventId).toBe('b');
  });

  it('keeps characters whole across the reads of a large file', async () => {
    const file = join(dir, 'unicode.ndjson');
    const note = 'Zoë’s café ☕ 東京 🚀 '.repeat(20);
    await writeNdjsonFile(file, Array.from({ length: 12_000 }, (_, i) => tp(T0 + i, 'web', 'page_view', { anonymous_id: `v${i}` }, { attributes: { note } })));
    const records = await read(new NdjsonSource(file, 4));
    expect(records).toHaveLength(12_000);
    expect(records.filter((r) => r.touchpoint!.attributes.note !== note)).toEqual([]);
  });

  it.each([
    ['{"eventId": "x"', 'forms.ndjson:2: '],
    [JSON.stringify({ eventId: 'x', occurredAt: T0, channel: 'web', identifiers: [] }), 'eventType = undefined is not string'],
    [JSON.stringify({ eventId: 'x', occurredAt: 'yesterday', channel: 'web', eventType: 'page_view', identifiers: [] }), "occurredAt: 'yesterday' is neither milliseconds nor an ISO-8601 time"],
    [JSON.stringify({ partition: 9, value: { eventId: 'x', occurredAt: T0, channel: 'web', eventType: 'e', identifiers: [] } }), 'partition 9 is not one of the 4 partitions'],
  ])('refuses a bad line with the file, the line and why: %s', async (bad, message) => {
    const file = join(dir, 'forms.ndjson');
    writeFileSync(file, `${JSON.stringify(tp(T0, 'web', 'page_view', { anonymous_id: 'ok' }))}\n${bad}\n`);
    const error = await read(new NdjsonSource(file, 4)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReplayInputError);
    expect((error as Error).message).toContain(`${file}:2: `);
    expect((error as Error).message).toContain(message.replace('forms.ndjson:2: ', ''));
  });
});

describe('Avro container file input', () => {
  it('replays to the same bytes as the same touchpoints in memory (deflate codec)', async () => {
    const file = join(dir, 'day.avro');
    await writeAvroFile(file, day.touchpoints);
    expect(await outputs(new AvroFileSource(file, 4))).toEqual(await outputs(new ArraySource(day.touchpoints, 4)));
  });

  it('reads a file written with an older Touchpoint schema, filling the newer fields with their defaults', async () => {
    const current = SchemaCatalog.load(SCHEMAS_DIR).type('Touchpoint').schema({ exportAttrs: true }) as { fields: { name: string }[] };
    const older = avro.Type.forSchema({ ...current, fields: current.fields.filter((f) => f.name !== 'timeZone' && f.name !== 'attributes') } as avro.Schema);
    const file = join(dir, 'older.avro');
    const written = day.touchpoints.slice(0, 3).map(({ timeZone: _t, attributes: _a, ...rest }) => rest);
    await writeAvroFile(file, written, older);
    const records = await read(new AvroFileSource(file, 4));
    expect(records.map((r) => r.touchpoint)).toEqual(day.touchpoints.slice(0, 3).map((t) => ({ ...t, timeZone: null, attributes: {} })));
  });

  it('refuses a file that is not an Avro container of touchpoints, naming it', async () => {
    const file = join(dir, 'not.avro');
    writeFileSync(file, 'hello');
    await expect(read(new AvroFileSource(file, 4))).rejects.toThrow(`${file}: not an Avro container file of Touchpoint records`);
    const other = join(dir, 'other.avro');
    await writeAvroFile(other, [{ n: 1 }], avro.Type.forSchema({ type: 'record', name: 'Other', fields: [{ name: 'n', type: 'int' }] }));
    await expect(read(new AvroFileSource(other, 4))).rejects.toThrow(ReplayInputError);
  });

  it('picks the format by extension', () => {
    expect(fileSource('x.ndjson', 4)).toBeInstanceOf(NdjsonSource);
    expect(fileSource('x.jsonl', 4)).toBeInstanceOf(NdjsonSource);
    expect(fileSource('x.avro', 4)).toBeInstanceOf(AvroFileSource);
    expect(() => fileSource('x.csv', 4)).toThrow("unknown input format '.csv'");
  });
});

describe('merging the partitions of a topic range', () => {
  const feed = (partition: number, runs: number[][]) => {
    let i = 0;
    let offset = 0;
    return {
      partition,
      next: async () => (i < runs.length ? runs[i++]!.map((t) => ({ timestamp: String(t), offset: String(offset++) })) : null),
    };
  };

  it('takes the earliest head first, ties by partition, and keeps each partition in offset order', async () => {
    const merged: string[] = [];
    const feeds = [feed(1, [[5, 10], [10, 3]]), feed(0, [[1], [10, 20]]), feed(2, [[], [7]])];
    for await (const { partition, record } of mergeByTimestamp(feeds)) merged.push(`${partition}:${record.offset}@${record.timestamp}`);
    // partition 1 holds a late record (3 after 10): it stays after 10, as Kafka delivers it
    expect(merged).toEqual(['0:0@1', '1:0@5', '2:0@7', '0:1@10', '1:1@10', '1:2@10', '1:3@3', '0:2@20']);
  });

  it('ends when every partition has ended, and copes with none', async () => {
    const none: unknown[] = [];
    for await (const r of mergeByTimestamp([])) none.push(r);
    expect(none).toEqual([]);
  });
});

describe('touchpoints in memory', () => {
  it('keys by the first identifier and partitions as Kafka would', async () => {
    const t: Touchpoint = tp(T0, 'web', 'page_view', { anonymous_id: 'abc' });
    const [r] = await read(new ArraySource([t], 6));
    expect(r).toMatchObject({ partition: partitionForKey(Buffer.from('abc'), 6), timestamp: T0, value: null });
  });
});
