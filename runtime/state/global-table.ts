import type { ReadOnlyStore } from '../processor';
import type { Serde } from '../serde/serde';
import type { TaskBacking } from './backing';

/**
 * A table every instance holds in full, built from a compacted topic (for
 * example the identity graph's changelog). Reads go through a small cache;
 * updates arrive in batches from the topic and invalidate what they touch.
 */
export class GlobalTable<V> implements ReadOnlyStore<V> {
  private readonly cache = new Map<string, V | undefined>();

  constructor(
    readonly name: string,
    readonly topic: string,
    private readonly backing: TaskBacking,
    private readonly serde: Serde<V>,
    private readonly maxCached = 100_000,
  ) {}

  async get(key: string): Promise<V | undefined> {
    if (this.cache.has(key)) return this.cache.get(key);
    const [bytes] = await this.backing.getMany(this.name, [key]);
    const value = bytes ? this.serde.deserialize(this.topic, bytes) : undefined;
    if (this.cache.size >= this.maxCached) this.cache.clear();
    this.cache.set(key, value);
    return value;
  }

  /** Loads many keys at once (one bulk read) so that following gets hit memory. */
  async prefetch(keys: Iterable<string>): Promise<void> {
    const missing = [...new Set(keys)].filter((k) => !this.cache.has(k));
    if (missing.length === 0) return;
    if (this.cache.size + missing.length > this.maxCached) this.cache.clear();
    const values = await this.backing.getMany(this.name, missing);
    missing.forEach((key, i) => this.cache.set(key, values[i] ? this.serde.deserialize(this.topic, values[i]!) : undefined));
  }

  /** Applies records read from the topic; `nextOffsets` by partition become the checkpoint. */
  async apply(records: readonly { key: Buffer | null; value: Buffer | null }[], nextOffsets: ReadonlyMap<number, bigint>): Promise<void> {
    const writes = [];
    for (const r of records) {
      if (!r.key) continue;
      const key = r.key.toString('utf8');
      this.cache.delete(key);
      writes.push({ store: this.name, key, value: r.value });
    }
    const checkpoint = new Map([...nextOffsets].map(([partition, offset]) => [`${this.topic}:${partition}`, offset] as [string, bigint]));
    await this.backing.apply(writes, checkpoint);
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
}
