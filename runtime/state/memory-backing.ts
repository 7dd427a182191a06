import { StoreWrite, TaskBacking } from './backing';

/** A task's state in memory: for the test driver and short replays. */
export class MemoryBacking implements TaskBacking {
  private readonly stores = new Map<string, Map<string, Buffer>>();
  private offsets = new Map<string, bigint>();

  async getMany(store: string, keys: readonly string[]): Promise<(Buffer | null)[]> {
    const entries = this.stores.get(store);
    return keys.map((key) => entries?.get(key) ?? null);
  }

  async *range(store: string, from: string, to: string): AsyncIterable<[string, Buffer]> {
    const entries = this.stores.get(store);
    if (!entries) return;
    const keys = [...entries.keys()].filter((k) => k >= from && k < to).sort(compareUtf8);
    for (const key of keys) yield [key, entries.get(key)!];
  }

  async apply(writes: readonly StoreWrite[], checkpoint: ReadonlyMap<string, bigint>): Promise<void> {
    for (const { store, key, value } of writes) {
      let entries = this.stores.get(store);
      if (!entries) this.stores.set(store, (entries = new Map()));
      if (value === null) entries.delete(key);
      else entries.set(key, value);
    }
    this.offsets = new Map([...this.offsets, ...checkpoint]);
  }

  async checkpoint(): Promise<Map<string, bigint>> {
    return new Map(this.offsets);
  }

  async close(): Promise<void> {}

  async wipe(): Promise<void> {
    this.stores.clear();
    this.offsets.clear();
  }

  /** Bytes held per store, for benchmarks and tests. */
  size(store: string): { entries: number; bytes: number } {
    const entries = this.stores.get(store) ?? new Map<string, Buffer>();
    let bytes = 0;
    for (const [key, value] of entries) bytes += Buffer.byteLength(key) + value.length;
    return { entries: entries.size, bytes };
  }
}

/** Orders strings by their UTF-8 bytes, as RocksDB does. */
export function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
