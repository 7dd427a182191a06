import type { StoreWrite } from './backing';
import type { CachedStore } from './cached-store';
import { compareUtf8 } from './memory-backing';

const SEPARATOR = '\u0000';
/** Timer times lie within ±2^52 ms (±142,000 years) and are shifted by 2^52: a non-negative safe integer of at most 14 hex digits. */
const TIME_OFFSET = 2 ** 52;
const TIME_DIGITS = 14;

export interface DueTimer {
  node: string;
  key: string;
  at: number;
}

interface IndexEntry {
  /** The time-index key: fixed-width time, then the timer id, so key order is firing order. */
  indexKey: string;
  id: string;
  at: number;
}

/**
 * Event-time timers of one task: one timer per (node, key), held on disk,
 * not in the heap.
 *
 * - `timers` (the changelogged task store) maps each timer id to its time:
 *   one record per timer change, which is what restoration replays.
 * - `byTime` (a local store, no changelog) indexes the same timers by time.
 *   It is derived data: written in the same atomic RocksDB batch as the
 *   timers at each commit, and rebuilt from restored records (`indexRestored`).
 *
 * Only the `headSize` earliest timers are in memory (the head, as Flink's
 * RocksDB timer service keeps them); the head is read again from `byTime`
 * when it runs out, or after an aborted commit threw away uncommitted
 * changes. So ten million pending timers cost disk, and an abort reloads
 * nothing until a timer may be due. Due timers fire in (time, id) order; an
 * index entry whose timer was replaced or cancelled meanwhile is dropped
 * when it comes up, so the index never fires a timer that is not there.
 */
export class TimerService {
  private head: IndexEntry[] = [];
  private headLoaded = false;
  /** Every index key up to this one is in the head; undefined: the head holds the whole index. */
  private headEnd: string | undefined;
  /**
   * No index key is below this one: the head is read from here, not from
   * the start, where fired timers leave RocksDB tombstones that every scan
   * from the start would step over until compaction removes them.
   */
  private scanFrom = '';
  private committedScanFrom = '';
  /**
   * Timers changed since the last settle whose committed time is not in
   * memory (undefined: cancelled or fired). `settle` reads those times in
   * one bulk read and writes only what really changed, so rescheduling a
   * timer to the time it had, or cancelling one that does not exist, writes
   * nothing to the changelog.
   */
  private readonly unsettled = new Map<string, number | undefined>();

  constructor(
    private readonly timers: TimerTimes,
    private readonly byTime: CachedStore<Buffer>,
    private readonly headSize = 1024,
  ) {}

  schedule(node: string, key: string, at: number): void {
    if (!Number.isSafeInteger(at) || Math.abs(at) >= TIME_OFFSET) {
      throw new RangeError(`timer ${node}/${key}: time ${at} is not a whole number of milliseconds within ±2^52`);
    }
    this.set(node + SEPARATOR + key, at);
  }

  cancel(node: string, key: string): void {
    this.set(node + SEPARATOR + key, undefined);
  }

  /** Whether a timer may be due at `time`; false only when the head says for certain that none is (no await). */
  mayBeDue(time: number): boolean {
    if (!this.headLoaded) return true;
    const first = this.head[0];
    return first ? first.at <= time : this.headEnd !== undefined;
  }

  /** The earliest timer due at or before `time`, removed; undefined if none. */
  async popDue(time: number): Promise<DueTimer | undefined> {
    for (;;) {
      if (!this.headLoaded || (this.head.length === 0 && this.headEnd !== undefined)) await this.loadHead();
      const first = this.head[0];
      if (!first || first.at > time) return undefined;
      this.head.shift();
      this.scanFrom = first.indexKey;
      this.byTime.delete(first.indexKey);
      const current = this.unsettled.has(first.id) ? this.unsettled.get(first.id) : await this.timers.get(first.id);
      if (current !== first.at) continue;
      if (this.unsettled.has(first.id)) this.unsettled.set(first.id, undefined);
      else this.timers.delete(first.id);
      const split = first.id.indexOf(SEPARATOR);
      return { node: first.id.slice(0, split), key: first.id.slice(split + 1), at: first.at };
    }
  }

  /** Whether changes wait for `settle`; a commit must not be prepared while they do. */
  get hasUnsettled(): boolean {
    return this.unsettled.size > 0;
  }

  /**
   * Reads the committed times of the timers changed without them in memory
   * (one bulk read) and writes what really changed: the timer's new time or
   * its removal, and the removal of its old index entry.
   */
  async settle(): Promise<void> {
    if (this.unsettled.size === 0) return;
    const changes = [...this.unsettled];
    this.unsettled.clear();
    await this.timers.prefetch(changes.map(([id]) => id));
    for (const [id, at] of changes) {
      const committed = this.timers.peek(id)?.value;
      if (committed === at) continue;
      if (committed !== undefined) this.byTime.delete(indexKey(committed, id));
      if (at === undefined) this.timers.delete(id);
      else this.timers.put(id, at);
    }
  }

  /** The task committed: an abort returns the index to this point. */
  committed(): void {
    this.committedScanFrom = this.scanFrom;
  }

  /**
   * Uncommitted changes are gone (an aborted commit, `restored` false) or the
   * store was written from outside (restoration): read the head again when needed.
   */
  reset(restored: boolean): void {
    if (restored) this.committedScanFrom = '';
    this.scanFrom = this.committedScanFrom;
    this.head = [];
    this.headLoaded = false;
    this.headEnd = undefined;
    this.unsettled.clear();
  }

  private set(id: string, at: number | undefined): void {
    let previous: number | undefined;
    if (this.unsettled.has(id)) {
      previous = this.unsettled.get(id);
      if (previous === at) return;
      this.unsettled.set(id, at);
    } else {
      const known = this.timers.peek(id);
      previous = known?.value;
      if (known && previous === at) return;
      if (!known) this.unsettled.set(id, at);
      else if (at === undefined) this.timers.delete(id);
      else this.timers.put(id, at);
    }
    // The head may keep the old entry: popDue drops an entry whose timer has another time now.
    if (previous !== undefined) this.byTime.delete(indexKey(previous, id));
    if (at === undefined) return;
    const entry = { indexKey: indexKey(at, id), id, at };
    if (compareUtf8(entry.indexKey, this.scanFrom) < 0) this.scanFrom = entry.indexKey;
    this.addToIndex(entry);
  }

  private addToIndex(entry: IndexEntry): void {
    this.byTime.put(entry.indexKey, EMPTY);
    if (!this.headLoaded) return;
    if (this.headEnd !== undefined && compareUtf8(entry.indexKey, this.headEnd) > 0) return;
    let low = 0;
    let high = this.head.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (compareUtf8(this.head[mid]!.indexKey, entry.indexKey) < 0) low = mid + 1;
      else high = mid;
    }
    this.head.splice(low, 0, entry);
    if (this.head.length > 2 * this.headSize) {
      this.head.length = this.headSize;
      this.headEnd = this.head[this.headSize - 1]!.indexKey;
    }
  }

  private async loadHead(): Promise<void> {
    const head: IndexEntry[] = [];
    let end: string | undefined;
    for await (const [key] of this.byTime.range(this.scanFrom, '\uffff')) {
      if (head.length === this.headSize) {
        end = head[head.length - 1]!.indexKey;
        break;
      }
      head.push(parseIndexKey(key));
    }
    await this.timers.prefetch(head.filter((e) => !this.unsettled.has(e.id)).map((e) => e.id));
    this.head = head;
    this.headEnd = end;
    this.headLoaded = true;
  }
}

/**
 * The index entries restoration must add and drop for changelog records of
 * timers (`writes`: the task store's restored records, keyed by timer id).
 * `previous` reads the times the backing store holds before they apply.
 */
export async function indexRestored(
  byTimeStore: string,
  writes: readonly { id: string; at: number | undefined }[],
  previous: (ids: string[]) => Promise<(number | undefined)[]>,
): Promise<StoreWrite[]> {
  if (writes.length === 0) return [];
  const ids = [...new Set(writes.map((w) => w.id))];
  const times = await previous(ids);
  const current = new Map(ids.map((id, i) => [id, times[i]]));
  const index: StoreWrite[] = [];
  for (const { id, at } of writes) {
    const before = current.get(id);
    if (before === at) continue;
    if (before !== undefined) index.push({ store: byTimeStore, key: indexKey(before, id), value: null });
    if (at !== undefined) index.push({ store: byTimeStore, key: indexKey(at, id), value: EMPTY });
    current.set(id, at);
  }
  return index;
}

/** Timer id → time: the part of the task store that holds timers. */
export interface TimerTimes {
  get(id: string): Promise<number | undefined>;
  peek(id: string): { value: number | undefined } | undefined;
  prefetch(ids: readonly string[]): Promise<void>;
  put(id: string, at: number): void;
  delete(id: string): void;
}

const EMPTY = Buffer.alloc(0);

function indexKey(at: number, id: string): string {
  return (at + TIME_OFFSET).toString(16).padStart(TIME_DIGITS, '0') + SEPARATOR + id;
}

function parseIndexKey(key: string): IndexEntry {
  return { indexKey: key, id: key.slice(TIME_DIGITS + 1), at: parseInt(key.slice(0, TIME_DIGITS), 16) - TIME_OFFSET };
}
