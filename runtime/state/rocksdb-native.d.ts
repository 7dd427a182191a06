/** The part of rocksdb-native's API the runtime uses (the package ships no types). */
declare module 'rocksdb-native' {
  interface ReadBatch {
    get(key: string | Buffer): Promise<Buffer | null>;
    tryFlush(): void;
  }
  interface WriteBatch {
    tryPut(key: string | Buffer, value: string | Buffer): void;
    tryDelete(key: string | Buffer): void;
    flush(): Promise<void>;
  }
  interface Range {
    gt?: string | Buffer;
    gte?: string | Buffer;
    lt?: string | Buffer;
    lte?: string | Buffer;
    reverse?: boolean;
    limit?: number;
  }
  class RocksDB {
    constructor(path: string, options?: { maxBackgroundJobs?: number; readOnly?: boolean });
    ready(): Promise<void>;
    close(): Promise<void>;
    /** Compacts keys from start to end (every key when both are null). */
    compactRange(start?: string | Buffer | null, end?: string | Buffer | null): Promise<void>;
    read(options?: { capacity?: number; autoDestroy?: boolean }): ReadBatch;
    write(options?: { capacity?: number; autoDestroy?: boolean }): WriteBatch;
    iterator(range: Range): AsyncIterable<{ key: Buffer; value: Buffer }>;
  }
  export = RocksDB;
}
