import { jsonSerde } from '../../../runtime/serde/serde';
import { CachedStore } from '../../../runtime/state/cached-store';
import { MemoryBacking } from '../../../runtime/state/memory-backing';

/** A backing that counts reads, to see which keys a cache still holds. */
class CountingBacking extends MemoryBacking {
  reads = 0;
  override async getMany(store: string, keys: readonly string[]): Promise<(Buffer | null)[]> {
    this.reads += keys.length;
    return super.getMany(store, keys);
  }
}

async function commit(store: CachedStore<number>, backing: MemoryBacking): Promise<void> {
  await backing.apply(store.uncommittedWrites(), new Map());
  store.markCommitted();
}

describe('CachedStore', () => {
  it('evicts the least recently used clean entries after a commit, not the oldest', async () => {
    const backing = new CountingBacking();
    const store = new CachedStore<number>('s', backing, jsonSerde<number>(), 2);
    store.put('a', 1);
    store.put('b', 2);
    await commit(store, backing);
    await store.get('a');
    store.put('c', 3);
    await commit(store, backing);
    const reads = backing.reads;
    expect(await store.get('a')).toBe(1);
    expect(await store.get('c')).toBe(3);
    expect(backing.reads).toBe(reads);
    expect(await store.get('b')).toBe(2);
    expect(backing.reads).toBe(reads + 1);
  });

  it('writes nothing for a put of the value a key holds or a delete of a key known to be absent', async () => {
    const backing = new CountingBacking();
    const store = new CachedStore<number>('s', backing, jsonSerde<number>(), 10);
    store.put('k', 1);
    await commit(store, backing);
    expect(await store.get('gone')).toBeUndefined();
    store.put('k', 1);
    store.delete('gone');
    expect(store.uncommittedWrites()).toEqual([]);
    store.put('k', 2);
    store.put('k', 1);
    expect(store.uncommittedWrites()).toEqual([{ store: 's', key: 'k', value: Buffer.from('1') }]);
  });

  it('answers committed() with the last committed value, not what the task wrote since', async () => {
    const backing = new CountingBacking();
    const store = new CachedStore<number>('s', backing, jsonSerde<number>(), 10);
    store.put('k', 1);
    await commit(store, backing);
    store.put('k', 2);
    store.put('new', 7);
    expect(await store.get('k')).toBe(2);
    expect(await store.committed('k')).toBe(1);
    expect(await store.committed('new')).toBeUndefined();
    await commit(store, backing);
    expect(await store.committed('k')).toBe(2);
    expect(await store.committed('new')).toBe(7);
  });
});
