/** One write of a commit: a new value for a key of a store, or a delete (null). */
export interface StoreWrite {
  store: string;
  key: string;
  value: Buffer | null;
}

/**
 * The durable state of one task: every store of the task, plus the
 * changelog offsets the state reflects (the checkpoint). `apply` writes a
 * commit's changes and the new checkpoint in one atomic batch, so the
 * state and its checkpoint can never disagree after a crash.
 */
export interface TaskBacking {
  getMany(store: string, keys: readonly string[]): Promise<(Buffer | null)[]>;
  /** Entries with from <= key < to in key order. */
  range(store: string, from: string, to: string): AsyncIterable<[string, Buffer]>;
  apply(writes: readonly StoreWrite[], checkpoint: ReadonlyMap<string, bigint>): Promise<void>;
  /** Changelog offsets the state reflects, by changelog topic: the next offset to restore from. */
  checkpoint(): Promise<Map<string, bigint>>;
  close(): Promise<void>;
  /** Deletes everything (e.g. a checkpoint that the changelog no longer has). */
  wipe(): Promise<void>;
}
