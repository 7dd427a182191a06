/**
 * Event-time order across the writers of a topic (issue 14 §2b).
 *
 * A task that reads records written by several tasks (the profile task
 * reads what every ingest task and the link task resolved) would otherwise
 * see them in whatever order their transactions landed, and its stream time,
 * timers and lateness would follow that order. Instead, every record such a
 * writer produces carries its place in one total order, the order key
 * (the writer's stream time when it wrote, the writer, the writer's sequence
 * number), and each writer says with progress markers (records without key
 * or value) how far it has got. The reader holds what it receives and
 * releases it in key order once every writer has got past it: the minimum
 * progress of the writers, the watermark, as Flink does. What is released
 * is always a prefix of the same total order, whatever the interleaving, so
 * a live run, a run restarted after kill -9 and a replay process the same
 * records in the same order.
 *
 * A writer with no input for a while says it is idle (progress "idle"), so
 * that a silent source partition does not hold everyone back; a record it
 * writes after that, below what readers have released, is late and is
 * processed at once (runtime/README.md, "Live versus replay", says what can
 * then differ).
 */

/** Header of the order key of a record, or on a progress marker, of its writer's progress. */
export const ORDER_HEADER = 'lp.order';

/** A writer's progress marker: no key, no value, an order header. */
export function isProgressMarker(record: { key: Buffer | null; value: Buffer | null; headers?: Record<string, unknown> }): boolean {
  return record.key === null && record.value === null && record.headers?.[ORDER_HEADER] !== undefined;
}

export interface OrderKey {
  /** The writer's stream time when it wrote; Infinity for an idle writer's progress. */
  time: number;
  /** The writer's task id. */
  writer: string;
  /** The writer's sequence number of its records to ordered topics. */
  seq: number;
}

export function formatOrderKey(key: OrderKey): string {
  return `${Number.isFinite(key.time) ? key.time : 'idle'}/${key.writer}/${key.seq}`;
}

/** The key of a header value, or undefined when the value is not one. */
export function parseOrderKey(text: string | undefined): OrderKey | undefined {
  if (text === undefined) return undefined;
  const [time, writer, seq, extra] = text.split('/');
  if (extra !== undefined || !writer || seq === undefined) return undefined;
  const parsed = { time: time === 'idle' ? Infinity : Number(time), writer, seq: Number(seq) };
  return Number.isNaN(parsed.time) || !Number.isSafeInteger(parsed.seq) ? undefined : parsed;
}

export function compareOrderKeys(a: OrderKey, b: OrderKey): number {
  if (a.time !== b.time) return a.time < b.time ? -1 : 1;
  if (a.writer !== b.writer) return a.writer < b.writer ? -1 : 1;
  return a.seq - b.seq;
}

/** What the reader keeps across commits (in the task store), so a restarted task knows what it already handled. */
export interface OrderState {
  /** Next offset the reader had read when it committed; below it, records were handled (processed or held). */
  readTo: string;
  /** Key of the last record released. */
  cursor?: string;
  /** Each writer's progress, as it said it. */
  progress: Record<string, string>;
}

/** How the reader takes a record of its ordered topic. */
export type Arrival = 'held' | 'now' | 'already-handled';

interface Held<T> {
  key: OrderKey;
  offset: bigint;
  item: T;
}

/**
 * The reader's side: holds records of the ordered writers, releases them in
 * key order up to the watermark. Pure bookkeeping: the task runs what it
 * releases. A writer's records reach a partition in the order it wrote
 * them, which is its key order, so each writer has a queue and releasing is
 * a merge of the queues' heads.
 */
export class OrderedInput<T> {
  private progress = new Map<string, OrderKey>();
  private cursor: OrderKey | undefined;
  /** Held records per writer, in key order. */
  private queues = new Map<string, Held<T>[]>();
  private committed: { progress: Map<string, OrderKey>; cursor: OrderKey | undefined; queues: Map<string, Held<T>[]>; readTo: bigint } = {
    progress: new Map(),
    cursor: undefined,
    queues: new Map(),
    readTo: -1n,
  };

  constructor(
    readonly topic: string,
    private readonly writers: ReadonlySet<string>,
  ) {}

  /** Loads what a previous owner committed. */
  load(state: OrderState | undefined): void {
    this.progress = new Map();
    for (const [writer, text] of Object.entries(state?.progress ?? {})) {
      const key = parseOrderKey(text);
      if (key) this.progress.set(writer, key);
    }
    this.cursor = parseOrderKey(state?.cursor);
    this.queues = new Map();
    this.committed = { progress: new Map(this.progress), cursor: this.cursor, queues: new Map(), readTo: state ? BigInt(state.readTo) : -1n };
  }

  isOrderedWriter(key: OrderKey | undefined): key is OrderKey {
    return key !== undefined && this.writers.has(key.writer);
  }

  /**
   * A writer's progress marker at `offset`, or the key of a record it wrote.
   * The latest word counts: a writer that said it was idle is waited on again
   * from its next record. A marker read again after a restart is old news.
   */
  advance(key: OrderKey, offset?: bigint): void {
    if (!this.writers.has(key.writer) || (offset !== undefined && offset < this.committed.readTo)) return;
    this.progress.set(key.writer, key);
  }

  /**
   * A record at `offset`: held until the watermark passes it, processed now
   * (late: below what was released, or not from an ordered writer), or
   * already handled before the last commit (read again after a restart).
   */
  arrive(offset: bigint, key: OrderKey | undefined, item: T): Arrival {
    const readBefore = offset < this.committed.readTo;
    const late = !this.isOrderedWriter(key) || (this.cursor !== undefined && compareOrderKeys(key, this.cursor) <= 0);
    if (late) return readBefore ? 'already-handled' : 'now';
    let queue = this.queues.get(key.writer);
    if (readBefore && queue?.some((h) => h.offset === offset)) return 'already-handled';
    // Read again after a restart, the record says nothing new of its writer's progress (kept with the commit).
    this.advance(key, offset);
    if (!queue) this.queues.set(key.writer, (queue = []));
    const last = queue[queue.length - 1];
    const held = { key, offset, item };
    if (!last || compareOrderKeys(last.key, key) < 0) queue.push(held);
    else queue.splice(insertionPoint(queue, key), 0, held);
    return 'held';
  }

  /** Releases, in key order, every held record the watermark has passed. */
  release(): T[] {
    const watermark = this.watermark();
    return watermark ? this.releaseUpTo(watermark) : [];
  }

  /** Releases everything held, in key order, whatever the writers said: the input is over for now (the in-process engine, between two runs). */
  releaseAll(): T[] {
    return this.releaseUpTo(undefined);
  }

  /** The least progress of the writers: every record at or below it has arrived. Undefined until every writer has said something. */
  watermark(): OrderKey | undefined {
    let least: OrderKey | undefined;
    for (const writer of this.writers) {
      const key = this.progress.get(writer);
      if (!key) return undefined;
      if (!least || compareOrderKeys(key, least) < 0) least = key;
    }
    return least;
  }

  /** Lowest stream time a record still to be released can bring: what this reader, as a writer, can promise. */
  get pendingTime(): number {
    let first = Infinity;
    for (const queue of this.queues.values()) if (queue[0] && queue[0].key.time < first) first = queue[0].key.time;
    return Math.min(first, this.watermark()?.time ?? -Infinity);
  }

  /** Offset of the first record held (where a restarted reader must read again from). */
  get firstHeldOffset(): bigint | undefined {
    let first: bigint | undefined;
    for (const queue of this.queues.values()) for (const h of queue) if (first === undefined || h.offset < first) first = h.offset;
    return first;
  }

  get heldCount(): number {
    let count = 0;
    for (const queue of this.queues.values()) count += queue.length;
    return count;
  }

  /** What to keep at a commit that has read up to `next`. */
  state(next: bigint): OrderState {
    const readTo = next > this.committed.readTo ? next : this.committed.readTo;
    const progress: Record<string, string> = {};
    for (const [writer, key] of this.progress) progress[writer] = formatOrderKey(key);
    return { readTo: readTo.toString(), ...(this.cursor ? { cursor: formatOrderKey(this.cursor) } : {}), progress };
  }

  /** A commit that read up to `next` is durable. A restarted reader reading again below its last read position keeps that position. */
  markCommitted(next: bigint): void {
    const readTo = next > this.committed.readTo ? next : this.committed.readTo;
    this.committed = { progress: new Map(this.progress), cursor: this.cursor, queues: copyQueues(this.queues), readTo };
  }

  /** Back to the last commit (an aborted commit, a failing record replayed). */
  restoreCommitted(): void {
    this.progress = new Map(this.committed.progress);
    this.cursor = this.committed.cursor;
    this.queues = copyQueues(this.committed.queues);
  }

  /** Merges the queues' heads in key order, up to `limit` (everything when undefined). */
  private releaseUpTo(limit: OrderKey | undefined): T[] {
    const released: T[] = [];
    const taken = new Map<Held<T>[], number>();
    for (;;) {
      let best: Held<T>[] | undefined;
      let bestKey: OrderKey | undefined;
      for (const queue of this.queues.values()) {
        const head = queue[taken.get(queue) ?? 0];
        if (head && (!bestKey || compareOrderKeys(head.key, bestKey) < 0)) {
          best = queue;
          bestKey = head.key;
        }
      }
      if (!best || !bestKey || (limit && compareOrderKeys(bestKey, limit) > 0)) break;
      const at = taken.get(best) ?? 0;
      released.push(best[at]!.item);
      taken.set(best, at + 1);
      this.cursor = bestKey;
    }
    for (const [queue, count] of taken) queue.splice(0, count);
    return released;
  }
}

function copyQueues<T>(queues: ReadonlyMap<string, Held<T>[]>): Map<string, Held<T>[]> {
  const copy = new Map<string, Held<T>[]>();
  for (const [writer, queue] of queues) if (queue.length > 0) copy.set(writer, [...queue]);
  return copy;
}

function insertionPoint<T>(queue: readonly Held<T>[], key: OrderKey): number {
  let lo = 0;
  let hi = queue.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareOrderKeys(queue[mid]!.key, key) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
