import { stringSerde } from '../../../runtime/serde/serde';
import type { TaskBacking } from '../../../runtime/state/backing';
import { GlobalTable } from '../../../runtime/state/global-table';
import { MemoryBacking } from '../../../runtime/state/memory-backing';

/** A backing whose reads can be held: a read answers with what the store held when it began. */
class HeldReads extends MemoryBacking {
  reads = 0;
  private gate: Promise<void> | undefined;
  private open?: () => void;

  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }

  release(): void {
    this.open?.();
    this.gate = undefined;
  }

  override async getMany(store: string, keys: readonly string[]): Promise<(Buffer | null)[]> {
    this.reads++;
    const values = await super.getMany(store, keys);
    if (this.gate) await this.gate;
    return values;
  }
}

const record = (key: string, value: string) => ({ key: Buffer.from(key), value: Buffer.from(value) });

async function table(backing: TaskBacking, maxCached = 100): Promise<GlobalTable<string>> {
  const t = new GlobalTable('graph', 'graph-changelog', backing, stringSerde, maxCached);
  await t.apply([record('cookie', 'p-old')], new Map([[0, 1n]]));
  return t;
}

describe('GlobalTable', () => {
  it('never caches a value that an update replaced while it was being read', async () => {
    const backing = new HeldReads();
    const t = await table(backing);
    backing.hold();
    const reading = t.get('cookie');
    await new Promise((resolve) => setImmediate(resolve));
    await t.apply([record('cookie', 'p-merged')], new Map([[0, 2n]]));
    backing.release();
    expect(await reading).toBe('p-merged');
    const readsBefore = backing.reads;
    expect(await t.get('cookie')).toBe('p-merged');
    expect(backing.reads).toBe(readsBefore);
  });

  it('gives a cached key the value of an update without reading it again', async () => {
    const backing = new HeldReads();
    const t = await table(backing);
    expect(await t.get('device')).toBeUndefined();
    const reads = backing.reads;
    await t.apply([record('device', 'p-linked'), record('cookie', 'p-new')], new Map([[0, 3n]]));
    expect(await t.get('device')).toBe('p-linked');
    expect(backing.reads).toBe(reads);
    expect(await t.get('cookie')).toBe('p-new');
    await t.apply([{ key: Buffer.from('device'), value: null }], new Map([[0, 4n]]));
    expect(await t.get('device')).toBeUndefined();
    expect(backing.reads).toBe(reads + 1);
  });

  it('evicts the least recently used key, not the oldest one', async () => {
    const backing = new HeldReads();
    const t = await table(backing, 2);
    await t.apply([record('a', '1'), record('b', '2'), record('c', '3')], new Map([[0, 3n]]));
    await t.get('a');
    await t.get('b');
    await t.get('a');
    await t.get('c');
    const reads = backing.reads;
    expect(await t.get('a')).toBe('1');
    expect(backing.reads).toBe(reads);
    expect(await t.get('b')).toBe('2');
    expect(backing.reads).toBe(reads + 1);
    expect(t.size).toBe(2);
  });
});
