import type { KeyValueStore } from '../processor';
import type { Serde } from '../serde/serde';
import { StoreWrite, TaskBacking } from './backing';
import { StoreValueError } from '../errors';
import { deepFreeze } from './freeze';
import { roundTripDifference } from './round-trip';
import { compareUtf8, inRange } from './memory-backing';

interface Entry<V> {
  /** undefined: the key is absent (never written, or deleted). */
  value: V | undefined;
  dirty: boolean;
}

export interface CacheStats {
  hits: number;
  misses: number;
  evictions: number;
}

/**
 * A write-back cache in front of a task's durable state. Writes stay in
 * memory until the task commits: `uncommittedWrites` serialises each dirty
 * key once (the same bytes go to the changelog and, after the Kafka
 * transaction commits, to RocksDB); `discardUncommitted` drops them when a
 * transaction aborts, which returns the store to its last committed state.
 * Clean entries beyond `maxEntries` are evicted after a commit, least recently used first.
 *
 * A value `get` returns is the cached object itself (no copy per read): a
 * caller that wants to change it takes it with `editable` first, so the
 * change is an uncommitted write like a `put`. With `checkValues` (the test
 * driver, replay's --check-values) committed values are frozen, so a
 * change made behind the store's back throws instead of surviving an abort.
 */
export class CachedStore<V> implements KeyValueStore<V> {
  private readonly cache = new Map<string, Entry<V>>();
  private readonly dirty = new Set<string>();
  readonly stats: CacheStats = { hits: 0, misses: 0, evictions: 0 };

  constructor(
    readonly name: string,
    private readonly backing: TaskBacking,
    private readonly serde: Serde<V>,
    private readonly maxEntries: number,
    private readonly checkValues = false,
  ) {}

  async get(key: string): Promise<V | undefined> {
    const entry = this.cache.get(key);
    if (entry) {
      this.stats.hits++;
      // Map order is recency: a hit moves the key to the end, eviction starts at the front.
      this.cache.delete(key);
      this.cache.set(key, entry);
      return entry.value;
    }
    this.stats.misses++;
    const [bytes] = await this.backing.getMany(this.name, [key]);
    return this.remember(key, bytes ?? null);
  }

  /**
   * The value as of the last commit, without what the task has written
   * since (the profile API must not show state that a failed commit may
   * still take back).
   */
  async committed(key: string): Promise<V | undefined> {
    const entry = this.cache.get(key);
    if (entry && !entry.dirty) return entry.value;
    const [bytes] = await this.backing.getMany(this.name, [key]);
    return bytes ? this.serde.deserialize(this.name, bytes) : undefined;
  }

  /**
   * A put of the value a key holds already (a string or a number equal to
   * the committed one) and a delete of a key known to be absent are not
   * writes: no changelog record, nothing for the readers of the changelog.
   */
  put(key: string, value: V): void {
    const entry = this.cache.get(key);
    if (entry && !entry.dirty && entry.value === value && typeof value !== 'object') return;
    this.cache.set(key, { value, dirty: true });
    this.dirty.add(key);
  }

  editable<T extends V>(key: string, value: T): T {
    const entry = this.cache.get(key);
    if (entry?.dirty && entry.value === value) return value;
    const owned = this.checkValues && Object.isFrozen(value) ? structuredClone(value) : value;
    this.put(key, owned);
    return owned;
  }

  delete(key: string): void {
    const entry = this.cache.get(key);
    if (entry && !entry.dirty && entry.value === undefined) return;
    this.cache.set(key, { value: undefined, dirty: true });
    this.dirty.add(key);
  }

  /**
   * Entries with from <= key < to in key order: the backing store's, with
   * what the cache holds over them. Streams, so a caller may stop early.
   */
  async *range(from: string, to: string): AsyncIterable<[string, V]> {
    const cached = [...this.cache.keys()].filter((key) => inRange(key, from, to)).sort(compareUtf8);
    let next = 0;
    for await (const [key, bytes] of this.backing.range(this.name, from, to)) {
      for (; next < cached.length && compareUtf8(cached[next]!, key) <= 0; next++) {
        const value = this.cache.get(cached[next]!)?.value;
        if (value !== undefined) yield [cached[next]!, value];
      }
      if (next > 0 && cached[next - 1] === key) continue;
      yield [key, this.serde.deserialize(this.name, bytes)];
    }
    for (; next < cached.length; next++) {
      const value = this.cache.get(cached[next]!)?.value;
      if (value !== undefined) yield [cached[next]!, value];
    }
  }

  /**
   * The cached value of a key without a read: `{ value }` when the cache
   * knows it (value undefined: known absent), undefined when it does not.
   */
  peek(key: string): { value: V | undefined } | undefined {
    return this.cache.get(key);
  }

  /** Loads the keys that are not cached yet with one bulk read. */
  async prefetch(keys: Iterable<string>): Promise<void> {
    const missing = [...new Set(keys)].filter((key) => !this.cache.has(key));
    if (missing.length === 0) return;
    this.stats.misses += missing.length;
    const values = await this.backing.getMany(this.name, missing);
    missing.forEach((key, i) => this.remember(key, values[i] ?? null));
  }

  /** Entries held in memory right now (for tests and the cache-size metric). */
  get size(): number {
    return this.cache.size;
  }

  get hasUncommittedWrites(): boolean {
    return this.dirty.size > 0;
  }

  /**
   * The latest value of every key written since the last commit, serialised.
   * With `checkValues` each value must also read back from its bytes as it
   * is: live, a value is read from RocksDB after a restore or an eviction,
   * and a processor must then see what it would have seen in the cache.
   */
  uncommittedWrites(): StoreWrite[] {
    const writes: StoreWrite[] = [];
    for (const key of this.dirty) {
      const value = this.cache.get(key)!.value;
      const bytes = value === undefined ? null : this.serde.serialize(this.name, value);
      if (bytes !== null && this.checkValues) {
        const difference = roundTripDifference(value, this.serde.deserialize(this.name, bytes));
        if (difference !== undefined) throw new StoreValueError(`store '${this.name}', key '${key}': the value does not read back from its bytes as written: ${difference}`);
      }
      writes.push({ store: this.name, key, value: bytes });
    }
    return writes;
  }

  /** The writes reached Kafka and RocksDB: they are now the committed state. */
  markCommitted(): void {
    for (const key of this.dirty) {
      const entry = this.cache.get(key)!;
      if (entry.value === undefined) this.cache.delete(key);
      else {
        entry.dirty = false;
        if (this.checkValues) deepFreeze(entry.value);
      }
    }
    this.dirty.clear();
    this.evict();
  }

  /** The transaction did not commit: forget everything written since the last commit. */
  discardUncommitted(): void {
    for (const key of this.dirty) this.cache.delete(key);
    this.dirty.clear();
  }

  /** Forgets clean entries too, e.g. after restoration rewrote the backing store. */
  clear(): void {
    this.cache.clear();
    this.dirty.clear();
  }

  private remember(key: string, bytes: Buffer | null): V | undefined {
    const value = bytes === null ? undefined : this.serde.deserialize(this.name, bytes);
    if (this.checkValues) deepFreeze(value);
    this.cache.set(key, { value, dirty: false });
    return value;
  }

  private evict(): void {
    if (this.cache.size <= this.maxEntries) return;
    for (const [key, entry] of this.cache) {
      if (this.cache.size <= this.maxEntries) break;
      if (entry.dirty) continue;
      this.cache.delete(key);
      this.stats.evictions++;
    }
  }
}
