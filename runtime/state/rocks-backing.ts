import { mkdir, rm } from 'node:fs/promises';
import RocksDB from 'rocksdb-native';
import { StoreWrite, TaskBacking } from './backing';

const SEPARATOR = '\u0000';
const CHECKPOINT_PREFIX = `${SEPARATOR}checkpoint${SEPARATOR}`;

/**
 * A task's state in one RocksDB database (one per task, so a revoked task
 * closes its own files and nothing else). Stores share the default column
 * family with the store name as key prefix, because rocksdb-native's write
 * batches are bound to one column family and a commit must write every
 * store and the checkpoint in one atomic batch.
 */
export class RocksBacking implements TaskBacking {
  private constructor(
    private readonly path: string,
    private db: RocksDB,
  ) {}

  static async open(path: string): Promise<RocksBacking> {
    await mkdir(path, { recursive: true });
    const db = new RocksDB(path, { maxBackgroundJobs: 2 });
    await db.ready();
    return new RocksBacking(path, db);
  }

  async getMany(store: string, keys: readonly string[]): Promise<(Buffer | null)[]> {
    if (keys.length === 0) return [];
    const batch = this.db.read({ capacity: batchCapacity(keys.length), autoDestroy: true });
    const reads = keys.map((key) => batch.get(`${store}${SEPARATOR}${key}`) as Promise<Buffer | null>);
    batch.tryFlush();
    return Promise.all(reads);
  }

  async *range(store: string, from: string, to: string): AsyncIterable<[string, Buffer]> {
    const prefix = `${store}${SEPARATOR}`;
    const offset = Buffer.byteLength(prefix);
    for await (const entry of this.db.iterator({ gte: prefix + from, lt: prefix + to })) {
      const { key, value } = entry as { key: Buffer; value: Buffer };
      yield [key.subarray(offset).toString('utf8'), value];
    }
  }

  async apply(writes: readonly StoreWrite[], checkpoint: ReadonlyMap<string, bigint>): Promise<void> {
    if (writes.length === 0 && checkpoint.size === 0) return;
    const batch = this.db.write({ capacity: batchCapacity(writes.length + checkpoint.size), autoDestroy: true });
    for (const { store, key, value } of writes) {
      if (value === null) batch.tryDelete(`${store}${SEPARATOR}${key}`);
      else batch.tryPut(`${store}${SEPARATOR}${key}`, value);
    }
    for (const [topic, offset] of checkpoint) batch.tryPut(CHECKPOINT_PREFIX + topic, offset.toString());
    await batch.flush();
  }

  async checkpoint(): Promise<Map<string, bigint>> {
    const result = new Map<string, bigint>();
    for await (const entry of this.db.iterator({ gte: CHECKPOINT_PREFIX, lt: `${CHECKPOINT_PREFIX}\uffff` })) {
      const { key, value } = entry as { key: Buffer; value: Buffer };
      result.set(key.toString('utf8').slice(CHECKPOINT_PREFIX.length), BigInt(value.toString('utf8')));
    }
    return result;
  }

  /** Compacts the whole database now: deleted keys stop taking disk only once compaction drops their tombstones. */
  async compact(): Promise<void> {
    await this.db.compactRange();
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  async wipe(): Promise<void> {
    await this.db.close();
    await rm(this.path, { recursive: true, force: true });
    await mkdir(this.path, { recursive: true });
    this.db = new RocksDB(this.path, { maxBackgroundJobs: 2 });
    await this.db.ready();
  }
}

/**
 * rocksdb-native pools small batches and reuses them with the capacity they
 * had; it grows a full batch by doubling, so a batch created with capacity 0
 * and later reused spins forever on its first write. Never ask for less than
 * its own default.
 */
function batchCapacity(operations: number): number {
  return Math.max(8, operations);
}
