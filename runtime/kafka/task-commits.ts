import type { Logger } from 'pino';
import type { RuntimeMetrics } from '../metrics';
import type { PendingCommit } from '../task';
import { writeCommit } from '../task-commit';
import type { ActiveTask } from './active-task';
import type { GroupConsumer } from './adapter';
import type { ProcessingGuarantee } from './engine-config';
import { KafkaError } from './kafka-errors';
import type { TaskLifecycle } from './task-lifecycle';

export interface TaskCommitsDeps {
  /** What recovery needs of the lifecycle: a new producer, the group's offsets, closing a task. */
  tasks: Pick<TaskLifecycle, 'connectProducer' | 'committedOffsets' | 'close'>;
  guarantee: ProcessingGuarantee;
  metrics: RuntimeMetrics;
  log: Logger;
  consumer(): Pick<GroupConsumer, 'seek'>;
}

/**
 * Commits a task's work (exactly-once: outputs, changelog records and
 * input offsets in one transaction; only after it commits are the writes
 * applied to RocksDB, with the changelog offsets they reflect, in one
 * atomic batch), and recovers when a commit fails: fenced, the task is
 * dropped; otherwise whatever Kafka holds decides between keeping the
 * work and re-reading from the last commit. Call under the task's lock.
 */
export class TaskCommits {
  constructor(private readonly deps: TaskCommitsDeps) {}

  async commit(active: ActiveTask): Promise<void> {
    const { task } = active;
    const pending = task.prepareCommit();
    const started = process.hrtime.bigint();
    try {
      await writeCommit(task, pending, active.producer!, this.deps.metrics);
      active.lastCommit = Date.now();
    } catch (error) {
      this.deps.metrics.commits.inc({ outcome: 'aborted' });
      await this.recover(active, pending, error);
    } finally {
      this.deps.metrics.commitSeconds.observe({ mode: this.deps.guarantee }, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  /**
   * Rewinds the consumer on every source of the task: to its committed
   * position, or, before its first commit, to the beginning (the group
   * subscribes from the beginning; the broker moves an offset below the log
   * start up to it). Skipping the sources without a commit let kafkajs go on
   * from where the discarded work had read to, and lose those records (the
   * proof suite's broker restart before the link task's first commit).
   */
  seekTo(active: ActiveTask, positions: ReadonlyMap<string, bigint>): void {
    for (const source of active.sub.sources) this.deps.consumer().seek(source.options.topic, active.task.partition, positions.get(source.options.topic) ?? 0n);
  }

  /**
   * A commit failed. If we were fenced, another instance owns the task now:
   * drop it. Otherwise start a new producer (which aborts whatever our old
   * one left open) and ask the group whether the offsets made it: a commit
   * that succeeded but whose answer was lost is kept; anything else is
   * discarded and re-read from the committed offsets. A commit that moved
   * no offset cannot be told apart from the last one that way: the task
   * reopens from what is durable, as a new owner would.
   */
  private async recover(active: ActiveTask, pending: PendingCommit, error: unknown): Promise<void> {
    const { log, tasks } = this.deps;
    const kind = error instanceof KafkaError ? error.kind : 'unexpected';
    log.warn({ err: error, task: active.task.id, kind }, 'commit failed');
    if (kind === 'fenced') {
      log.warn({ task: active.task.id }, 'fenced by a newer owner; dropping the task');
      await this.abandon(active);
      return;
    }
    // A reader in writer order commits its input only up to the first record it holds, and a commit of
    // timers alone moves no offset: when this commit would leave every offset where the last one put
    // them, finding them committed says nothing of it. Found by the proof suite (seed 183777): a profile
    // task's commit failed in a broker restart, was taken for made, and the touchpoints it had
    // re-routed were never written.
    const moved = [...pending.offsets].some(([topic, offset]) => active.task.committedPositions.get(topic) !== offset);
    if (!moved) {
      log.warn({ task: active.task.id }, 'the failed commit moved no input offset, so the group cannot say whether it made it; the task reopens from its last commit');
      await this.abandon(active);
      return;
    }
    let committed: Map<string, bigint>;
    try {
      await active.producer?.close().catch(() => undefined);
      active.producer = await tasks.connectProducer(active.sub, active.task.partition);
      committed = await tasks.committedOffsets(active.sub, active.task.partition);
    } catch (unsettled) {
      // The broker cannot say whether the transaction made it (it is down, or moving): start over
      // from what is durable, exactly as a new owner would. Found by the proof suite: a task kept
      // its uncommitted state and its disconnected producer, and a later commit moved the group's
      // offsets past records whose outputs never reached Kafka.
      log.warn({ err: unsettled, task: active.task.id }, 'cannot settle the failed commit; the task reopens from its last commit');
      await this.abandon(active);
      return;
    }
    const madeIt = [...pending.offsets].every(([topic, offset]) => committed.get(topic) === offset);
    if (madeIt) {
      await active.task.committed(pending, new Map());
      active.lastCommit = Date.now();
      return;
    }
    await active.task.aborted();
    this.seekTo(active, active.task.committedPositions);
  }

  /**
   * Drops a task and rewinds the consumer to the task's last known commit,
   * so that whoever opens the task next (this instance on its next batch,
   * or another) restores it and reads on from what is durable.
   */
  private async abandon(active: ActiveTask): Promise<void> {
    const positions = new Map(active.task.committedPositions);
    await this.deps.tasks.close(active);
    this.seekTo(active, positions);
  }
}
