import { join } from 'node:path';
import type { Logger } from 'pino';
import type { RuntimeMetrics } from '../metrics';
import { RocksBacking } from '../state/rocks-backing';
import { StreamTask } from '../task';
import type { SubTopology, Topology } from '../topology';
import { withLock, type ActiveTask } from './active-task';
import type { EngineAdmin, GroupConsumer, KafkaClient, PartitionReader, TaskProducer } from './adapter';
import type { EngineConfig } from './engine-config';
import type { GlobalTables } from './global-tables';
import { restoreTask } from './restoration';

export interface TaskLifecycleDeps {
  topology: Topology;
  config: EngineConfig;
  client: KafkaClient;
  globals: GlobalTables;
  metrics: RuntimeMetrics;
  log: Logger;
  /** Connected once the engine has started. */
  admin(): EngineAdmin;
  reader(): PartitionReader;
  consumer(): GroupConsumer;
  stopping(): boolean;
}

/**
 * The tasks of this instance, from the group's assignment to their close:
 * each opened once (its producer first, fencing the previous owner, then
 * its RocksDB restored from the changelog and its committed positions
 * read), closed when revoked, abandoned or stopped.
 */
export class TaskLifecycle {
  private readonly tasks = new Map<string, ActiveTask>();
  /** Tasks being created (RocksDB opening, restoring), so that one partition never gets two. */
  private readonly opening = new Map<string, Promise<ActiveTask>>();
  private readonly partitionCounts = new Map<string, number>();

  constructor(private readonly deps: TaskLifecycleDeps) {
    for (const t of deps.topology.topics) this.partitionCounts.set(t.name, t.partitions!);
  }

  get(id: string): ActiveTask | undefined {
    return this.tasks.get(id);
  }

  /** Whether `active` is still the task this instance runs for its id (a failed commit may have closed it). */
  holds(active: ActiveTask): boolean {
    return this.tasks.get(active.task.id) === active;
  }

  all(): ActiveTask[] {
    return [...this.tasks.values()];
  }

  ids(): string[] {
    return [...this.tasks.keys()];
  }

  /**
   * The task of a partition, restored. Tasks are opened as soon as the group
   * assigns them (so /readyz is true only once every assigned task can
   * answer), or by the first batch if that comes first; never twice.
   */
  taskFor(sub: SubTopology, partition: number, heartbeat: () => Promise<void>): Promise<ActiveTask> {
    const id = `${sub.id}_${partition}`;
    const existing = this.tasks.get(id);
    if (existing?.restored) return Promise.resolve(existing);
    let opening = this.opening.get(id);
    if (!opening) {
      opening = this.open(sub, partition, heartbeat).finally(() => this.opening.delete(id));
      this.opening.set(id, opening);
    }
    return opening;
  }

  /** Opens the assigned tasks one after the other; one that fails is opened again by its first batch. */
  async openAssigned(ids: ReadonlySet<string>): Promise<void> {
    for (const id of ids) {
      const sub = this.deps.topology.subTopologies[Number(id.split('_')[0])]!;
      // Heartbeats come from the consumer's own loop meanwhile; a batch that waits for this task pumps them too.
      await this.taskFor(sub, Number(id.split('_')[1]), () => Promise.resolve()).catch((error: unknown) =>
        this.deps.log.warn({ err: error, task: id }, 'opening an assigned task failed; its first batch tries again'),
      );
    }
  }

  /** Closes every task not in `keep`, each after the work queued on it. */
  async closeRevoked(keep: ReadonlySet<string>): Promise<void> {
    for (const [id, active] of [...this.tasks]) {
      if (!keep.has(id)) await withLock(active, () => this.close(active)).catch((error: unknown) => this.deps.log.error({ err: error, task: id }, 'closing a revoked task failed'));
    }
  }

  /** Forgets the task: its uncommitted work, its producer, its open stores. */
  async close(active: ActiveTask): Promise<void> {
    const id = active.task.id;
    if (this.tasks.get(id) !== active) return;
    this.tasks.delete(id);
    if (active.restored) this.deps.metrics.activeTasks.dec();
    else this.deps.metrics.restoringTasks.dec();
    await active.task.aborted().catch(() => undefined);
    await active.producer?.close().catch(() => undefined);
    await active.task.close();
    this.deps.log.info({ task: id }, 'task closed');
  }

  /** A new producer for the task (exactly-once: fencing whichever producer had its transactional id). */
  connectProducer(sub: SubTopology, partition: number): Promise<TaskProducer> {
    const { client, config, topology } = this.deps;
    if (config.guarantee === 'at_least_once') return client.taskProducer({ guarantee: 'at_least_once', commitOffsets: (offsets) => this.deps.consumer().commitOffsets(offsets) });
    return client.taskProducer({
      guarantee: 'exactly_once',
      transactionalId: `${topology.appId}-${sub.sources[0]!.options.topic}-${partition}`,
      groupId: topology.appId,
    });
  }

  /** The group's committed offsets of the task's sources. */
  committedOffsets(sub: SubTopology, partition: number): Promise<Map<string, bigint>> {
    return this.deps.admin().committedOffsets(this.deps.topology.appId, sub.sources.map((s) => s.options.topic), partition);
  }

  private async open(sub: SubTopology, partition: number, heartbeat: () => Promise<void>): Promise<ActiveTask> {
    const { config, topology, metrics } = this.deps;
    const id = `${sub.id}_${partition}`;
    const log = this.deps.log.child({ task: id, partition });
    const backing = await RocksBacking.open(join(config.stateDir, topology.appId, id));
    const task = new StreamTask({
      subTopology: sub,
      partition,
      backing,
      log,
      metrics,
      partitionsOf: (topic) => this.partitionCounts.get(topic) ?? 1,
      deadLetterTopic: topology.deadLetterTopic,
      globalStores: this.deps.globals.byName(),
      defaultCacheEntries: config.cacheEntriesPerStore,
      maxRecordBytes: config.maxRecordBytes,
    });
    const active: ActiveTask = { task, sub, lock: Promise.resolve(), lastCommit: Date.now(), restored: false, lastInput: Date.now() };
    this.tasks.set(id, active);
    metrics.restoringTasks.inc();
    const ready = withLock(active, async () => {
      // The producer first: initialising it fences any previous owner and
      // completes its open transaction, so the changelog and the committed
      // offsets read next are final.
      log.info('task assigned: fencing the previous owner and restoring');
      active.producer = await this.connectProducer(sub, partition);
      await restoreTask(task, backing, { reader: this.deps.reader(), heartbeat, stopped: () => this.deps.stopping(), log, metrics });
      await task.init();
      for (const [topic, offset] of await this.committedOffsets(sub, partition)) task.setCommittedPosition(topic, offset);
      active.restored = true;
      // Quiet from here on, not from the open: restoring is no reason to tell readers this task is idle.
      active.lastInput = Date.now();
      metrics.restoringTasks.dec();
      metrics.activeTasks.inc();
      log.info({ positions: Object.fromEntries([...task.committedPositions].map(([t, o]) => [t, o.toString()])) }, 'task ready');
    });
    try {
      await ready;
    } catch (error) {
      // A rebalance (heartbeat), a broker error or shutdown interrupted the restore: forget the
      // half-made task so the next batch for this partition starts over from the checkpoint.
      log.warn({ err: error }, 'task set-up interrupted');
      await this.close(active);
      throw error;
    }
    return active;
  }
}
