import type { Logger } from 'pino';
import { ListeningPostError } from '../errors';
import type { RuntimeMetrics } from '../metrics';
import type { InputRecord } from '../records';
import type { SubTopology } from '../topology';
import { withLock, type ActiveTask, type TaskStall } from './active-task';
import type { ConsumedBatch } from './adapter';
import type { EngineConfig } from './engine-config';
import type { TaskCommits } from './task-commits';
import type { TaskLifecycle } from './task-lifecycle';

/** Longest wait between two tries of a task whose dependency is unavailable. */
export const MAX_STALL_BACKOFF_MS = 5_000;

export interface BatchLoopDeps {
  config: EngineConfig;
  tasks: TaskLifecycle;
  commits: TaskCommits;
  /** The sub-topology that reads each source topic. */
  subByTopic: ReadonlyMap<string, SubTopology>;
  metrics: RuntimeMetrics;
  log: Logger;
  stopping(): boolean;
}

/**
 * Hands each fetched batch to its task, in slices, and commits when the
 * task caught up, when the commit interval passed, or when it holds
 * `maxUncommittedRecords`. A task whose dependency is unavailable stalls
 * (waits, then re-reads from its last commit); any other failure goes up
 * to the consumer.
 */
export class BatchLoop {
  constructor(private readonly deps: BatchLoopDeps) {}

  async onBatch(batch: ConsumedBatch): Promise<void> {
    const { config, tasks, metrics } = this.deps;
    const { heartbeat } = batch;
    const sub = this.deps.subByTopic.get(batch.topic)!;
    const open = tasks.get(`${sub.id}_${batch.partition}`);
    const active = open?.restored ? open : await heartbeating(tasks.taskFor(sub, batch.partition, heartbeat), heartbeat);
    // Records before the task's position are in its uncommitted state already: kafkajs delivers a
    // batch again after a failed handler or a rejoin, from the group's committed offset.
    const expected = active.task.position(batch.topic);
    const fresh = batch.records.filter((r) => expected === undefined || BigInt(r.offset) >= expected);
    // A fetch can hold tens of thousands of records: process it in slices, committing and
    // heartbeating in between, so one big batch neither delays commits nor the group.
    const slice = Math.max(1, config.maxUncommittedRecords);
    for (let from = 0; from < fresh.length || from === 0; from += slice) {
      const part = fresh.slice(from, from + slice);
      const last = from + slice >= fresh.length;
      let stop = false;
      await withLock(active, async () => {
        // A failed commit may have closed the task (it reopens from its last commit on the next batch).
        if (!batch.current() || this.deps.stopping() || !tasks.holds(active)) {
          stop = true;
          return;
        }
        if (part.length > 0) {
          active.lastInput = Date.now();
          const started = process.hrtime.bigint();
          if (!(await this.processOrStall(active, part, heartbeat))) {
            stop = true;
            return;
          }
          metrics.processingSeconds.observe({ subtopology: String(sub.id) }, Number(process.hrtime.bigint() - started) / 1e9);
        }
        batch.consumed(last ? batch.nextOffset - 1n : BigInt(part[part.length - 1]!.offset));
        // A batch may end in transaction markers: its last offset, not its last record, is where we are.
        if (last) active.task.skippedTo(batch.topic, batch.nextOffset);
        const caughtUp = last && batch.lag === 0n;
        if (last) active.caughtUp = caughtUp;
        const due = Date.now() - active.lastCommit >= config.commitIntervalMs;
        if (active.task.hasPendingWork && (caughtUp || due || active.task.uncommittedRecords >= config.maxUncommittedRecords)) {
          await this.deps.commits.commit(active);
        }
      });
      if (stop) return;
      await heartbeat();
    }
    metrics.consumerLag.set({ topic: batch.topic, partition: String(batch.partition) }, Number(batch.lag));
  }

  /**
   * Processes records; false when the task stalled on an unavailable
   * dependency (the schema registry). Then it waits (heartbeating, with
   * back-off), returns to its last commit and re-reads from there, so
   * nothing is skipped or dead-lettered for a fault that is not the
   * record's. Any other error marks the task stalled and goes up to the
   * consumer, which restarts it.
   */
  private async processOrStall(active: ActiveTask, records: InputRecord[], heartbeat: () => Promise<void>): Promise<boolean> {
    const { log, metrics } = this.deps;
    try {
      await active.task.process(records);
    } catch (error) {
      const retriable = error instanceof ListeningPostError && error.retriable;
      const previous = active.stall;
      const stall: TaskStall = {
        task: active.task.id,
        partition: active.task.partition,
        kind: error instanceof ListeningPostError ? error.kind : 'unexpected',
        reason: (error as Error).message,
        since: previous?.since ?? Date.now(),
        attempts: (previous?.attempts ?? 0) + 1,
        retriable,
      };
      active.stall = stall;
      metrics.taskStalls.inc({ kind: stall.kind });
      log.warn({ err: error, task: stall.task, partition: stall.partition, attempts: stall.attempts, since: new Date(stall.since).toISOString() }, retriable ? 'task stalled: waiting to try again' : 'task failed');
      if (!retriable) throw error;
      const deadline = Date.now() + Math.min(MAX_STALL_BACKOFF_MS, 100 * 2 ** Math.min(stall.attempts, 10));
      while (Date.now() < deadline && !this.deps.stopping()) {
        await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, deadline - Date.now())));
        await heartbeat();
      }
      await active.task.aborted();
      this.deps.commits.seekTo(active, active.task.committedPositions);
      return false;
    }
    if (active.stall) {
      log.info({ task: active.task.id, partition: active.task.partition, attempts: active.stall.attempts, stalledMs: Date.now() - active.stall.since }, 'task resumed');
      active.stall = undefined;
    }
    return true;
  }
}

/** Waits for `work`, heartbeating meanwhile, so a long restoration does not cost this member its place in the group. */
async function heartbeating<T>(work: Promise<T>, heartbeat: () => Promise<void>): Promise<T> {
  let done = false;
  const result = work.finally(() => (done = true));
  while (!done) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([result.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, 1_000)))]);
    clearTimeout(timer);
    if (!done) await heartbeat();
  }
  return result;
}
