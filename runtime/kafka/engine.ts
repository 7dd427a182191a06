import { join } from 'node:path';
import type { Logger } from 'pino';
import { ListeningPostError } from '../errors';
import { RuntimeMetrics } from '../metrics';
import type { InputRecord, OutputRecord } from '../records';
import { GlobalTable } from '../state/global-table';
import { RocksBacking } from '../state/rocks-backing';
import { StreamTask, type PendingCommit } from '../task';
import type { SubTopology, Topology } from '../topology';
import type { ConsumedBatch, EngineAdmin, GroupConsumer, KafkaClient, PartitionReader, TaskProducer } from './adapter';
import { refusedCredentials, type KafkaConnection } from './connection';
import { KafkaError } from './kafka-errors';
import { GlobalTables } from './global-tables';
import { kafkajsClient } from './kafkajs';
import { restoreTask } from './restoration';
import { decodeMemberInfo, taskAssignor, type MemberInfo } from './task-assignment';

export type ProcessingGuarantee = 'exactly_once' | 'at_least_once';

export interface EngineConfig {
  kafka: KafkaConnection;
  /** The Kafka client behind the adapter (default: kafkajs on `kafka`). */
  client?: KafkaClient;
  /** Root of the local state; each task has its own RocksDB below it. */
  stateDir: string;
  guarantee: ProcessingGuarantee;
  commitIntervalMs: number;
  /** Commit early once a task holds this many uncommitted input records. */
  maxUncommittedRecords: number;
  cacheEntriesPerStore: number;
  partitionsConsumedConcurrently: number;
  /** Largest record a task may produce (default: Kafka's default message.max.bytes less overhead). */
  maxRecordBytes?: number;
  /** How long the group waits for a silent member before moving its tasks (broker minimum: 6 s). */
  sessionTimeoutMs?: number;
  /**
   * Live freshness: a task that has had no input for a while fires the
   * timers due by its stream time plus the wall-clock time that passed since
   * its last record, so absence deadlines, arbitration windows and window
   * expiries fire without new traffic. Stream time itself moves only with
   * records: this second clock never rewrites it. Non-deterministic by
   * nature; the driver and replay never do it (runtime/README.md, "Time").
   */
  wallClockPunctuation?: boolean;
  /** host:port other instances use to reach this one's HTTP API. */
  advertisedEndpoint: string;
  log: Logger;
  metrics?: RuntimeMetrics;
}

interface ActiveTask {
  task: StreamTask;
  sub: SubTopology;
  producer?: TaskProducer;
  lock: Promise<void>;
  lastCommit: number;
  restored: boolean;
  /** Wall-clock time of the last input record. */
  lastInput: number;
  /** Why the task cannot move on, while it cannot (reported by /readyz and /healthz). */
  stall?: TaskStall;
}

export interface TaskStall {
  task: string;
  partition: number;
  /** Error kind, e.g. registry-unavailable. */
  kind: string;
  reason: string;
  /** Wall-clock ms of the first failure in a row. */
  since: number;
  attempts: number;
  /** A retriable stall waits for a dependency; any other means a defect that a restart may not cure. */
  retriable: boolean;
}

/** Longest wait between two tries of a task whose dependency is unavailable. */
const MAX_STALL_BACKOFF_MS = 5_000;

/**
 * Runs a topology against Kafka: one consumer group per application id,
 * one task per partition number of each sub-topology, each task with its
 * own RocksDB and its own producer: exactly-once, a transactional one whose
 * id names the task, so a zombie owner is fenced by the new one;
 * at-least-once, an idempotent one. Never one producer for several tasks:
 * kafkajs's idempotent producer loses its sequence numbers under concurrent
 * sends (OUT_OF_ORDER_SEQUENCE_NUMBER, then every later send fails), and a
 * task's commits are sequential.
 *
 * Commit (exactly-once): outputs + changelog records + input offsets in one
 * transaction; only after it commits are the writes applied to RocksDB,
 * with the changelog offsets they reflect, in one atomic batch. A crash at
 * any point leaves RocksDB at or behind Kafka, never ahead; restoration
 * replays the changelog from the local checkpoint. See runtime/README.md.
 */
export class Engine {
  readonly metrics: RuntimeMetrics;
  private readonly client: KafkaClient;
  private readonly log: Logger;
  private readonly tasks = new Map<string, ActiveTask>();
  private readonly globals: GlobalTables;
  private readonly subByTopic = new Map<string, SubTopology>();
  private readonly partitionCounts = new Map<string, number>();
  private consumer?: GroupConsumer;
  private admin?: EngineAdmin;
  private reader?: PartitionReader;
  private commitTimer?: NodeJS.Timeout;
  private joined = false;
  /** While start-up waits for an unreachable dependency: which, why, since when (shown by /readyz). */
  private waitingFor?: { what: string; reason: string; since: number };
  /** Task ids the group gave this instance at the last join: readiness waits until each is restored. */
  private assigned = new Set<string>();
  /** Tasks being created (RocksDB opening, restoring), so that one partition never gets two. */
  private readonly opening = new Map<string, Promise<ActiveTask>>();
  private stopping = false;
  private crashed?: Error;

  constructor(
    readonly topology: Topology,
    private readonly config: EngineConfig,
  ) {
    this.metrics = config.metrics ?? new RuntimeMetrics({ defaultMetrics: true });
    this.log = config.log.child({ app: topology.appId });
    this.client = config.client ?? kafkajsClient(`${topology.appId}-${process.pid}`, config.kafka, this.log);
    for (const sub of topology.subTopologies) for (const s of sub.sources) this.subByTopic.set(s.options.topic, sub);
    for (const t of topology.topics) this.partitionCounts.set(t.name, t.partitions!);
    this.globals = new GlobalTables(this.client, topology, config.stateDir, this.log);
  }

  /**
   * Starts consuming; resolves once the consumer runs (readiness follows
   * restoration). While Kafka or the registry cannot be reached it waits and
   * tries again (an instance started during a broker restart used to exit);
   * a topology, topic or schema that does not fit fails at once.
   */
  async start(): Promise<void> {
    this.admin = this.client.admin();
    this.reader = this.client.partitionReader();
    await this.whenReachable('Kafka and the schema registry', async () => {
      await this.admin!.connect();
      await this.admin!.verifyTopics(this.topology);
      await this.initSerdes();
      await this.reader!.connect();
      await this.globals.start();
    });
    const consumer = this.client.groupConsumer({
      groupId: this.topology.appId,
      topics: [...this.subByTopic.keys()],
      assignor: taskAssignor(this.taskGroups(), () => this.memberInfo()),
      sessionTimeoutMs: this.config.sessionTimeoutMs ?? 30_000,
      partitionsConsumedConcurrently: this.config.partitionsConsumedConcurrently,
    });
    this.consumer = consumer;
    await this.whenReachable('the consumer group', () => consumer.connect());
    await consumer.run({
      onBatch: (batch) => this.onBatch(batch),
      onRevoke: () => this.commitBeforeRejoining(),
      onAssignment: async (assignment) => {
        this.log.info({ assignment }, 'joined the group');
        this.joined = true;
        this.assigned = this.taskIds(assignment);
        await this.closeRevokedTasks();
        void this.openAssignedTasks();
      },
      onSkipped: (topic, partition, nextOffset) => {
        const sub = this.subByTopic.get(topic);
        const active = sub && this.tasks.get(`${sub.id}_${partition}`);
        if (active?.restored) active.task.skippedTo(topic, nextOffset);
      },
      onCrash: (error, restarting) => {
        if (!restarting) this.crashed = error;
        this.log.error({ err: error, restart: restarting }, 'consumer crashed');
      },
    });
    this.commitTimer = setInterval(() => void this.commitIdleTasks(), this.config.commitIntervalMs);
    this.log.info({ guarantee: this.config.guarantee, topics: [...this.subByTopic.keys()] }, 'engine started');
  }

  /** Runs `step` until it succeeds, waiting with back-off while what it needs is unreachable. */
  private async whenReachable(what: string, step: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await step();
        this.waitingFor = undefined;
        return;
      } catch (error) {
        if ((error instanceof ListeningPostError && !error.retriable) || this.stopping) throw error;
        const refused = refusedCredentials(error, this.config.kafka);
        if (refused) throw refused;
        this.waitingFor = { what, reason: (error as Error).message, since: this.waitingFor?.since ?? Date.now() };
        this.log.warn({ err: error, attempt }, `waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, Math.min(MAX_STALL_BACKOFF_MS, 250 * attempt)));
      }
    }
  }

  /** Graceful stop: finish the batch in hand, commit, close stores, leave the group. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.commitTimer);
    await this.consumer?.stop();
    for (const active of this.tasks.values()) {
      await this.withLock(active, async () => {
        if (active.restored && active.task.hasPendingWork) await this.commit(active);
      });
    }
    await this.consumer?.disconnect();
    for (const active of [...this.tasks.values()]) await this.closeTask(active);
    await this.globals.stop();
    await this.reader?.disconnect();
    await this.admin?.disconnect();
    this.log.info('engine stopped');
  }

  /**
   * Live, unless the consumer crashed for good or a task keeps failing for a
   * reason no wait will cure (then a restart, or another instance, may).
   */
  healthy(): { healthy: boolean; detail: { crashed?: string; failing: TaskStall[] } } {
    const failing = this.stalls().filter((s) => !s.retriable && s.attempts >= 3);
    return { healthy: this.crashed === undefined && failing.length === 0, detail: { crashed: this.crashed?.message, failing } };
  }

  readiness(): {
    ready: boolean;
    detail: { joined: boolean; tasks: number; restoring: string[]; stalled: TaskStall[]; globalTablesCaughtUp: boolean; waitingFor?: { what: string; reason: string; since: number } };
  } {
    const restoring = [...this.assigned].filter((id) => !this.tasks.get(id)?.restored);
    const stalled = this.stalls();
    const globalTablesCaughtUp = this.globals.caughtUp();
    return {
      ready: this.joined && restoring.length === 0 && stalled.length === 0 && globalTablesCaughtUp && !this.stopping,
      detail: { joined: this.joined, tasks: this.tasks.size, restoring, stalled, globalTablesCaughtUp, waitingFor: this.waitingFor },
    };
  }

  /** Tasks that cannot move on now, with the partition and the reason. */
  stalls(): TaskStall[] {
    return [...this.tasks.values()].flatMap((t) => (t.stall ? [t.stall] : []));
  }

  /** Tasks this instance runs now, with their stores (for the query API). */
  activeTask(subTopology: number, partition: number): StreamTask | undefined {
    const active = this.tasks.get(`${subTopology}_${partition}`);
    return active?.restored ? active.task : undefined;
  }

  globalTable<V>(name: string): GlobalTable<V> | undefined {
    return this.globals.byName().get(name) as GlobalTable<V> | undefined;
  }

  /** Members of the group with the endpoint each advertises and the partitions it owns. */
  async groupMembers(): Promise<{ endpoint: string; assignment: Record<string, number[]> }[]> {
    const members = await this.admin!.groupMembers(this.topology.appId);
    return members.map((m) => ({ endpoint: decodeMemberInfo(m.userData).endpoint, assignment: m.assignment }));
  }

  // --- consuming ---------------------------------------------------------------------------

  private async onBatch(batch: ConsumedBatch): Promise<void> {
    const { heartbeat } = batch;
    const sub = this.subByTopic.get(batch.topic)!;
    const open = this.tasks.get(`${sub.id}_${batch.partition}`);
    const active = open?.restored ? open : await this.heartbeating(this.taskFor(sub, batch.partition, heartbeat), heartbeat);
    // Records before the task's position are in its uncommitted state already: kafkajs delivers a
    // batch again after a failed handler or a rejoin, from the group's committed offset.
    const expected = active.task.position(batch.topic);
    const fresh = batch.records.filter((r) => expected === undefined || BigInt(r.offset) >= expected);
    // A fetch can hold tens of thousands of records: process it in slices, committing and
    // heartbeating in between, so one big batch neither delays commits nor the group.
    const slice = Math.max(1, this.config.maxUncommittedRecords);
    for (let from = 0; from < fresh.length || from === 0; from += slice) {
      const part = fresh.slice(from, from + slice);
      const last = from + slice >= fresh.length;
      let stop = false;
      await this.withLock(active, async () => {
        // A failed commit may have closed the task (it reopens from its last commit on the next batch).
        if (!batch.current() || this.stopping || this.tasks.get(active.task.id) !== active) {
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
          this.metrics.processingSeconds.observe({ subtopology: String(sub.id) }, Number(process.hrtime.bigint() - started) / 1e9);
        }
        batch.consumed(last ? batch.nextOffset - 1n : BigInt(part[part.length - 1]!.offset));
        // A batch may end in transaction markers: its last offset, not its last record, is where we are.
        if (last) active.task.skippedTo(batch.topic, batch.nextOffset);
        const caughtUp = last && batch.lag === 0n;
        const due = Date.now() - active.lastCommit >= this.config.commitIntervalMs;
        if (active.task.hasPendingWork && (caughtUp || due || active.task.uncommittedRecords >= this.config.maxUncommittedRecords)) {
          await this.commit(active);
        }
      });
      if (stop) return;
      await heartbeat();
    }
    this.metrics.consumerLag.set({ topic: batch.topic, partition: String(batch.partition) }, Number(batch.lag));
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
      this.metrics.taskStalls.inc({ kind: stall.kind });
      this.log.warn({ err: error, task: stall.task, partition: stall.partition, attempts: stall.attempts, since: new Date(stall.since).toISOString() }, retriable ? 'task stalled: waiting to try again' : 'task failed');
      if (!retriable) throw error;
      const deadline = Date.now() + Math.min(MAX_STALL_BACKOFF_MS, 100 * 2 ** Math.min(stall.attempts, 10));
      while (Date.now() < deadline && !this.stopping) {
        await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, deadline - Date.now())));
        await heartbeat();
      }
      await active.task.aborted();
      this.seekTo(active, active.task.committedPositions);
      return false;
    }
    if (active.stall) {
      this.log.info({ task: active.task.id, partition: active.task.partition, attempts: active.stall.attempts, stalledMs: Date.now() - active.stall.since }, 'task resumed');
      active.stall = undefined;
    }
    return true;
  }

  /** Runs every commit interval: punctuates idle tasks, and commits what no batch has committed yet. */
  private async commitIdleTasks(): Promise<void> {
    for (const active of this.tasks.values()) {
      if (!active.restored) continue;
      const now = Date.now();
      const idle = now - active.lastInput >= this.config.commitIntervalMs;
      const punctuate = this.config.wallClockPunctuation !== false && idle && active.task.streamTime > 0;
      if (!punctuate && !active.task.hasPendingWork) continue;
      if (!punctuate && now - active.lastCommit < this.config.commitIntervalMs) continue;
      await this.withLock(active, async () => {
        if (this.stopping) return;
        if (punctuate) await active.task.punctuate(active.task.streamTime + (now - active.lastInput));
        if (active.task.hasPendingWork) await this.commit(active);
      }).catch((error: unknown) => this.log.error({ err: error, task: active.task.id }, 'idle commit failed'));
    }
  }

  private withLock(active: ActiveTask, work: () => Promise<void>): Promise<void> {
    const run = active.lock.then(work);
    active.lock = run.catch(() => undefined);
    return run;
  }

  // --- committing --------------------------------------------------------------------------

  private async commit(active: ActiveTask): Promise<void> {
    const { task } = active;
    const pending = task.prepareCommit();
    const started = process.hrtime.bigint();
    try {
      const records = [...pending.outputs, ...pending.changelog];
      const checkpoint = await active.producer!.commit({ records, partition: task.partition, offsets: pending.offsets });
      await task.committed(pending, checkpoint);
      active.lastCommit = Date.now();
      this.metrics.commits.inc({ outcome: 'committed' });
      for (const [topic, count] of countByTopic(records)) this.metrics.recordsOut.inc({ topic }, count);
    } catch (error) {
      this.metrics.commits.inc({ outcome: 'aborted' });
      await this.recoverFailedCommit(active, pending, error);
    } finally {
      this.metrics.commitSeconds.observe({ mode: this.config.guarantee }, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  /**
   * A commit failed. If we were fenced, another instance owns the task now:
   * drop it. Otherwise start a new producer (which aborts whatever our old
   * one left open) and ask the group whether the offsets made it: a commit
   * that succeeded but whose answer was lost is kept; anything else is
   * discarded and re-read from the committed offsets.
   */
  private async recoverFailedCommit(active: ActiveTask, pending: PendingCommit, error: unknown): Promise<void> {
    const kind = error instanceof KafkaError ? error.kind : 'unexpected';
    this.log.warn({ err: error, task: active.task.id, kind }, 'commit failed');
    if (kind === 'fenced') {
      this.log.warn({ task: active.task.id }, 'fenced by a newer owner; dropping the task');
      await this.abandon(active);
      return;
    }
    let committed: Map<string, bigint>;
    try {
      await active.producer?.close().catch(() => undefined);
      active.producer = await this.connectTaskProducer(active.sub, active.task.partition);
      committed = await this.fetchCommitted(active.sub, active.task.partition);
    } catch (unsettled) {
      // The broker cannot say whether the transaction made it (it is down, or moving): start over
      // from what is durable, exactly as a new owner would. Found by the proof suite: a task kept
      // its uncommitted state and its disconnected producer, and a later commit moved the group's
      // offsets past records whose outputs never reached Kafka.
      this.log.warn({ err: unsettled, task: active.task.id }, 'cannot settle the failed commit; the task reopens from its last commit');
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
    await this.closeTask(active);
    this.seekTo(active, positions);
  }

  /**
   * Rewinds the consumer on every source of the task: to its committed
   * position, or, before its first commit, to the beginning (the group
   * subscribes from the beginning; the broker moves an offset below the log
   * start up to it). Skipping the sources without a commit let kafkajs go on
   * from where the discarded work had read to, and lose those records (the
   * proof suite's broker restart before the link task's first commit).
   */
  private seekTo(active: ActiveTask, positions: ReadonlyMap<string, bigint>): void {
    for (const source of active.sub.sources) {
      const offset = positions.get(source.options.topic) ?? 0n;
      this.consumer!.seek(source.options.topic, active.task.partition, offset);
    }
  }

  // --- task lifecycle ------------------------------------------------------------------------

  /**
   * The task of a partition, restored. Tasks are opened as soon as the group
   * assigns them (so /readyz is true only once every assigned task can
   * answer), or by the first batch if that comes first; never twice.
   */
  private taskFor(sub: SubTopology, partition: number, heartbeat: () => Promise<void>): Promise<ActiveTask> {
    const id = `${sub.id}_${partition}`;
    const existing = this.tasks.get(id);
    if (existing?.restored) return Promise.resolve(existing);
    let opening = this.opening.get(id);
    if (!opening) {
      opening = this.openTask(sub, partition, heartbeat).finally(() => this.opening.delete(id));
      this.opening.set(id, opening);
    }
    return opening;
  }

  /** Waits for `work`, heartbeating meanwhile, so a long restoration does not cost this member its place in the group. */
  private async heartbeating<T>(work: Promise<T>, heartbeat: () => Promise<void>): Promise<T> {
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

  private async openAssignedTasks(): Promise<void> {
    for (const id of this.assigned) {
      const sub = this.topology.subTopologies[Number(id.split('_')[0])]!;
      // Heartbeats come from the consumer's own loop meanwhile; a batch that waits for this task pumps them too.
      await this.taskFor(sub, Number(id.split('_')[1]), () => Promise.resolve()).catch((error: unknown) => this.log.warn({ err: error, task: id }, 'opening an assigned task failed; its first batch tries again'));
    }
  }

  private async openTask(sub: SubTopology, partition: number, heartbeat: () => Promise<void>): Promise<ActiveTask> {
    const id = `${sub.id}_${partition}`;
    const log = this.log.child({ task: id, partition });
    const backing = await RocksBacking.open(join(this.config.stateDir, this.topology.appId, id));
    const task = new StreamTask({
      subTopology: sub,
      partition,
      backing,
      log,
      metrics: this.metrics,
      partitionsOf: (topic) => this.partitionCounts.get(topic) ?? 1,
      deadLetterTopic: this.topology.deadLetterTopic,
      globalStores: this.globals.byName(),
      defaultCacheEntries: this.config.cacheEntriesPerStore,
      maxRecordBytes: this.config.maxRecordBytes,
    });
    const active: ActiveTask = { task, sub, lock: Promise.resolve(), lastCommit: Date.now(), restored: false, lastInput: Date.now() };
    this.tasks.set(id, active);
    this.metrics.restoringTasks.inc();
    const ready = this.withLock(active, async () => {
      // The producer first: initialising it fences any previous owner and
      // completes its open transaction, so the changelog and the committed
      // offsets read next are final.
      log.info('task assigned: fencing the previous owner and restoring');
      active.producer = await this.connectTaskProducer(sub, partition);
      await restoreTask(task, backing, { reader: this.reader!, heartbeat, stopped: () => this.stopping, log, metrics: this.metrics });
      await task.init();
      for (const [topic, offset] of await this.fetchCommitted(sub, partition)) task.setCommittedPosition(topic, offset);
      active.restored = true;
      this.metrics.restoringTasks.dec();
      this.metrics.activeTasks.inc();
      log.info({ positions: Object.fromEntries([...task.committedPositions].map(([t, o]) => [t, o.toString()])) }, 'task ready');
    });
    try {
      await ready;
    } catch (error) {
      // A rebalance (heartbeat), a broker error or shutdown interrupted the restore: forget the
      // half-made task so the next batch for this partition starts over from the checkpoint.
      log.warn({ err: error }, 'task set-up interrupted');
      await this.closeTask(active);
      throw error;
    }
    return active;
  }

  private taskIds(assignment: Record<string, number[]>): Set<string> {
    const ids = new Set<string>();
    for (const [topic, partitions] of Object.entries(assignment)) {
      const sub = this.subByTopic.get(topic);
      if (sub) for (const p of partitions) ids.add(`${sub.id}_${p}`);
    }
    return ids;
  }

  /**
   * A rebalance gives up every partition (eager protocol): commit what each
   * task has done, so that whoever owns it next starts where it stopped and
   * finds no open transaction of ours to wait for or abort. Tasks still
   * opening are left alone (their restoration holds the lock; they have
   * nothing to commit).
   */
  private async commitBeforeRejoining(): Promise<void> {
    const committed: string[] = [];
    for (const active of [...this.tasks.values()]) {
      if (!active.restored) continue;
      await this.withLock(active, async () => {
        if (this.stopping || this.tasks.get(active.task.id) !== active || !active.task.hasPendingWork) return;
        await this.commit(active);
        committed.push(active.task.id);
      }).catch((error: unknown) => this.log.warn({ err: error, task: active.task.id }, 'commit before rejoining failed'));
    }
    if (this.tasks.size > 0) this.log.info({ committed, tasks: [...this.tasks.keys()] }, 'rebalance: tasks committed before rejoining the group');
  }

  private async closeRevokedTasks(): Promise<void> {
    const keep = this.assigned;
    for (const [id, active] of [...this.tasks]) {
      if (!keep.has(id)) await this.withLock(active, () => this.closeTask(active)).catch((error: unknown) => this.log.error({ err: error, task: id }, 'closing a revoked task failed'));
    }
  }

  private async closeTask(active: ActiveTask): Promise<void> {
    const id = active.task.id;
    if (this.tasks.get(id) !== active) return;
    this.tasks.delete(id);
    if (active.restored) this.metrics.activeTasks.dec();
    else this.metrics.restoringTasks.dec();
    await active.task.aborted().catch(() => undefined);
    await active.producer?.close().catch(() => undefined);
    await active.task.close();
    this.log.info({ task: id }, 'task closed');
  }

  private connectTaskProducer(sub: SubTopology, partition: number): Promise<TaskProducer> {
    if (this.config.guarantee === 'at_least_once') return this.client.taskProducer({ guarantee: 'at_least_once', commitOffsets: (offsets) => this.consumer!.commitOffsets(offsets) });
    return this.client.taskProducer({
      guarantee: 'exactly_once',
      transactionalId: `${this.topology.appId}-${sub.sources[0]!.options.topic}-${partition}`,
      groupId: this.topology.appId,
    });
  }

  private fetchCommitted(sub: SubTopology, partition: number): Promise<Map<string, bigint>> {
    return this.admin!.committedOffsets(this.topology.appId, sub.sources.map((s) => s.options.topic), partition);
  }

  // --- set-up ------------------------------------------------------------------------------

  private async initSerdes(): Promise<void> {
    for (const sub of this.topology.subTopologies) {
      for (const node of sub.nodes.values()) {
        if (node.kind === 'source' || node.kind === 'sink') {
          await node.options.key.init?.(node.options.topic);
          await node.options.value.init?.(node.options.topic);
        }
      }
    }
  }

  private taskGroups() {
    return this.topology.subTopologies.map((sub) => ({ id: sub.id, topics: sub.sources.map((s) => s.options.topic) }));
  }

  private memberInfo(): MemberInfo {
    return { endpoint: this.config.advertisedEndpoint, tasks: [...this.tasks.keys()] };
  }
}

function countByTopic(records: readonly OutputRecord[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of records) counts.set(r.topic, (counts.get(r.topic) ?? 0) + 1);
  return counts;
}
