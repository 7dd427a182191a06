import type { ReadOnlyStore } from '../processor';
import type { Serde } from '../serde/serde';
import type { TaskBacking } from './backing';

/**
 * A table every instance holds in full, built from a compacted topic (for
 * example the identity graph's changelog). Reads go through a bounded cache,
 * least recently used out first; updates arrive in batches from the topic
 * and replace the cached values of the keys they touch.
 *
 * A read that is waiting on RocksDB while an update of the same key is
 * applied must not put its (now old) value in the cache: each update is
 * numbered, each key remembers the update that last touched it, and a read
 * caches a key only if that update had landed in RocksDB before the read
 * began; otherwise it reads the key again. Without that, a resolver could go
 * on reading an identifier's pre-merge profile from the cache until it was
 * evicted.
 */
export class GlobalTable<V> implements ReadOnlyStore<V> {
  /** Insertion order is recency: a hit moves the key to the end, eviction takes from the front. */
  private readonly cache = new Map<string, V | undefined>();
  /** Updates begun, and the last one whose write has landed (updates are applied one after another). */
  private updates = 0;
  private landed = 0;
  /** The update that last touched each key, kept while reads or an update are in flight. */
  private readonly touched = new Map<string, number>();
  private readsInFlight = 0;

  constructor(
    readonly name: string,
    readonly topic: string,
    private readonly backing: TaskBacking,
    private readonly serde: Serde<V>,
    private readonly maxCached = 100_000,
  ) {}

  async get(key: string): Promise<V | undefined> {
    if (this.cache.has(key)) return this.hit(key);
    const [value] = await this.read([key]);
    return value;
  }

  /** Loads many keys at once (one bulk read) so that following gets hit memory. */
  async prefetch(keys: Iterable<string>): Promise<void> {
    const missing = [...new Set(keys)].filter((k) => !this.cache.has(k));
    if (missing.length > 0) await this.read(missing);
  }

  /** Applies records read from the topic; `nextOffsets` by partition become the checkpoint. */
  async apply(records: readonly { key: Buffer | null; value: Buffer | null }[], nextOffsets: ReadonlyMap<number, bigint>): Promise<void> {
    const writes = [];
    const update = ++this.updates;
    for (const r of records) {
      if (!r.key) continue;
      const key = r.key.toString('utf8');
      // A key read before is likely read again (an identifier seen unknown, then linked): keep it, with its new value.
      if (this.cache.has(key)) this.cache.set(key, r.value === null ? undefined : this.serde.deserialize(this.topic, r.value));
      this.touched.set(key, update);
      writes.push({ store: this.name, key, value: r.value });
    }
    const checkpoint = new Map([...nextOffsets].map(([partition, offset]) => [`${this.topic}:${partition}`, offset] as [string, bigint]));
    await this.backing.apply(writes, checkpoint);
    this.landed = update;
    this.forgetTouches();
  }

  /** Entries in memory now (for tests and metrics). */
  get size(): number {
    return this.cache.size;
  }

  async close(): Promise<void> {
    await this.backing.close();
  }

  /** Next offset to read, by partition of the topic. */
  async positions(): Promise<Map<number, bigint>> {
    const positions = new Map<number, bigint>();
    for (const [name, offset] of await this.backing.checkpoint()) {
      if (name.startsWith(`${this.topic}:`)) positions.set(Number(name.slice(this.topic.length + 1)), offset);
    }
    return positions;
  }

  private hit(key: string): V | undefined {
    const value = this.cache.get(key);
    this.cache.delete(key);
    this.cache.set(key, value);
    return value;
  }

  private async read(keys: readonly string[]): Promise<(V | undefined)[]> {
    const landedBefore = this.landed;
    this.readsInFlight++;
    const stale: number[] = [];
    let values: (V | undefined)[];
    try {
      const bytes = await this.backing.getMany(this.name, keys);
      values = bytes.map((b) => (b ? this.serde.deserialize(this.topic, b) : undefined));
      keys.forEach((key, i) => {
        if ((this.touched.get(key) ?? 0) > landedBefore) stale.push(i);
        else this.cache.set(key, values[i]);
      });
    } finally {
      this.readsInFlight--;
      this.forgetTouches();
    }
    this.evict();
    if (stale.length === 0) return values;
    // Updated while it was read: the value read may be the old one. Read it again once the update has landed.
    const again = await this.read(stale.map((i) => keys[i]!));
    stale.forEach((i, j) => (values[i] = again[j]));
    return values;
  }

  private forgetTouches(): void {
    if (this.readsInFlight === 0 && this.landed === this.updates) this.touched.clear();
  }

  private evict(): void {
    for (const key of this.cache.keys()) {
      if (this.cache.size <= this.maxCached) return;
      this.cache.delete(key);
    }
  }
}
