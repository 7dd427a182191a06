import type { KeyValueStore } from '../processor';

const SEPARATOR = '\u0000';

export interface DueTimer {
  node: string;
  key: string;
  at: number;
}

interface HeapEntry {
  at: number;
  id: string;
}

const before = (a: HeapEntry, b: HeapEntry) => a.at < b.at || (a.at === b.at && a.id < b.id);

/**
 * Event-time timers of one task: one timer per (node, key). The live set is
 * held in memory (a map plus a min-heap ordered by time, then id, so firing
 * order is deterministic) and persisted through a changelogged store, so
 * timers survive crashes, rebalances and replays. Replaced or cancelled
 * timers leave stale heap entries that are skipped when popped and
 * compacted away when they outnumber the live ones.
 */
export class TimerService {
  private live = new Map<string, number>();
  private heap: HeapEntry[] = [];
  private stale = 0;

  constructor(private readonly store: KeyValueStore<number>) {}

  /** Rebuilds the in-memory index from the store (after restore or an aborted commit). */
  async load(): Promise<void> {
    this.live = new Map();
    for await (const [id, at] of this.store.range('', '\uffff')) this.live.set(id, at);
    this.rebuildHeap();
  }

  schedule(node: string, key: string, at: number): void {
    const id = node + SEPARATOR + key;
    if (this.live.get(id) === at) return;
    if (this.live.has(id)) this.stale++;
    this.live.set(id, at);
    this.store.put(id, at);
    this.push({ at, id });
    this.compactIfNeeded();
  }

  cancel(node: string, key: string): void {
    const id = node + SEPARATOR + key;
    if (!this.live.delete(id)) return;
    this.stale++;
    this.store.delete(id);
    this.compactIfNeeded();
  }

  /** The earliest timer due at or before `time`, removed from the live set; undefined if none. */
  popDue(time: number): DueTimer | undefined {
    while (this.heap.length > 0 && this.heap[0]!.at <= time) {
      const top = this.pop();
      if (this.live.get(top.id) !== top.at) {
        this.stale--;
        continue;
      }
      this.live.delete(top.id);
      this.store.delete(top.id);
      const split = top.id.indexOf(SEPARATOR);
      return { node: top.id.slice(0, split), key: top.id.slice(split + 1), at: top.at };
    }
    return undefined;
  }

  get size(): number {
    return this.live.size;
  }

  private compactIfNeeded(): void {
    if (this.stale > 1024 && this.stale > this.live.size) this.rebuildHeap();
  }

  private rebuildHeap(): void {
    this.heap = [...this.live].map(([id, at]) => ({ at, id }));
    this.heap.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
    this.stale = 0;
  }

  private push(entry: HeapEntry): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private pop(): HeapEntry {
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && before(heap[left]!, heap[smallest]!)) smallest = left;
        if (right < heap.length && before(heap[right]!, heap[smallest]!)) smallest = right;
        if (smallest === i) break;
        [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
        i = smallest;
      }
    }
    return top;
  }
}
