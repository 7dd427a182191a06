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
    const keys = [...entries.keys()].filter((k) => inRange(k, from, to)).sort(compareUtf8);
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

/**
 * Orders strings by their UTF-8 bytes, as RocksDB does, without encoding
 * them: UTF-8 keeps code point order, which differs from UTF-16 code unit
 * order only where a surrogate (a code point above U+FFFF) meets a unit
 * from U+E000 to U+FFFF.
 */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xSurrogate = x >= 0xd800 && x <= 0xdfff;
    const ySurrogate = y >= 0xd800 && y <= 0xdfff;
    if (xSurrogate === ySurrogate) return x - y;
    return xSurrogate ? 1 : -1;
  }
  return a.length - b.length;
}

/** Whether from <= key < to in UTF-8 byte order. */
export function inRange(key: string, from: string, to: string): boolean {
  return compareUtf8(key, from) >= 0 && compareUtf8(key, to) < 0;
}
