import type { Logger } from 'pino';
import { ListeningPostError } from '../errors';
import { RuntimeMetrics } from '../metrics';
import type { GlobalTable } from '../state/global-table';
import type { StreamTask } from '../task';
import type { SubTopology, Topology } from '../topology';
import { withLock, type TaskStall } from './active-task';
import type { EngineAdmin, GroupConsumer, KafkaClient, PartitionReader } from './adapter';
import { BatchLoop, MAX_STALL_BACKOFF_MS } from './batch-loop';
import { refusedLogin } from './connection';
import type { EngineConfig } from './engine-config';
import { GlobalTables } from './global-tables';
import { IdleTasks } from './idle-tasks';
import { kafkajsClient } from './kafkajs';
import { withPlatformaticProducers } from './platformatic';
import { decodeMemberInfo, taskAssignor } from './task-assignment';
import { TaskCommits } from './task-commits';
import { TaskLifecycle } from './task-lifecycle';

export type { EngineConfig, ProcessingGuarantee } from './engine-config';
export type { TaskStall } from './active-task';

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
 * The engine joins the parts, each with one job: the Kafka client behind
 * `adapter.ts`, the tasks' lifecycle (`task-lifecycle.ts`), their commits
 * and recovery (`task-commits.ts`), the batch loop (`batch-loop.ts`), idle
 * punctuation (`idle-tasks.ts`), restoration and the global tables. It
 * owns start-up, shutdown, the group's rebalances, health and readiness.
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
  private readonly globals: GlobalTables;
  private readonly tasks: TaskLifecycle;
  private readonly commits: TaskCommits;
  private readonly batches: BatchLoop;
  private readonly idle: IdleTasks;
  private readonly subByTopic = new Map<string, SubTopology>();
  private consumer?: GroupConsumer;
  private admin?: EngineAdmin;
  private reader?: PartitionReader;
  private joined = false;
  /** While start-up waits for an unreachable dependency: which, why, since when (shown by /readyz). */
  private waitingFor?: { what: string; reason: string; since: number };
  /** Task ids the group gave this instance at the last join: readiness waits until each is restored. */
  private assigned = new Set<string>();
  private stopping = false;
  private crashed?: Error;

  constructor(
    readonly topology: Topology,
    private readonly config: EngineConfig,
  ) {
    this.metrics = config.metrics ?? new RuntimeMetrics({ defaultMetrics: true });
    this.log = config.log.child({ app: topology.appId });
    this.client = config.client ?? engineClient(`${topology.appId}-${process.pid}`, config, this.log);
    for (const sub of topology.subTopologies) for (const s of sub.sources) this.subByTopic.set(s.options.topic, sub);
    this.globals = new GlobalTables(this.client, topology, config.stateDir, this.log);
    const { metrics, log } = this;
    const stopping = () => this.stopping;
    const consumer = () => this.consumer!;
    this.tasks = new TaskLifecycle({ topology, config, client: this.client, globals: this.globals, metrics, log, admin: () => this.admin!, reader: () => this.reader!, consumer, stopping });
    this.commits = new TaskCommits({ tasks: this.tasks, guarantee: config.guarantee, metrics, log, consumer });
    this.batches = new BatchLoop({ config, tasks: this.tasks, commits: this.commits, subByTopic: this.subByTopic, metrics, log, stopping });
    this.idle = new IdleTasks(config, this.tasks, this.commits, log, stopping, (id) => this.assigned.has(id));
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
      assignor: taskAssignor(
        this.topology.subTopologies.map((sub) => ({ id: sub.id, topics: sub.sources.map((s) => s.options.topic) })),
        () => ({ endpoint: this.config.advertisedEndpoint, tasks: this.tasks.ids() }),
      ),
      sessionTimeoutMs: this.config.sessionTimeoutMs ?? 30_000,
      partitionsConsumedConcurrently: this.config.partitionsConsumedConcurrently,
    });
    this.consumer = consumer;
    await this.whenReachable('the consumer group', () => consumer.connect());
    await consumer.run({
      onBatch: (batch) => this.batches.onBatch(batch),
      onRevoke: () => this.commitBeforeRejoining(),
      onAssignment: async (assignment) => {
        this.log.info({ assignment }, 'joined the group');
        this.joined = true;
        this.assigned = this.taskIds(assignment);
        await this.tasks.closeRevoked(this.assigned);
        void this.tasks.openAssigned(this.assigned);
      },
      onSkipped: (topic, partition, nextOffset) => {
        const sub = this.subByTopic.get(topic);
        const active = sub && this.tasks.get(`${sub.id}_${partition}`);
        if (!active?.restored) return;
        active.task.skippedTo(topic, nextOffset);
        // Only transaction markers or aborted records: whether more follows is unknown (writerIdleAfter).
        active.caughtUp = undefined;
      },
      onCrash: (error, restarting) => {
        if (!restarting) this.crashed = error;
        this.log.error({ err: error, restart: restarting }, 'consumer crashed');
      },
    });
    this.idle.start();
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
        const refused = refusedLogin(error, this.config.kafka);
        if (refused) throw refused;
        if ((error instanceof ListeningPostError && !error.retriable) || this.stopping) throw error;
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
    this.idle.stop();
    await this.consumer?.stop();
    for (const active of this.tasks.all()) {
      await withLock(active, async () => {
        if (active.restored && active.task.hasPendingWork) await this.commits.commit(active);
      });
    }
    await this.consumer?.disconnect();
    for (const active of this.tasks.all()) await this.tasks.close(active);
    await this.globals.stop();
    await this.reader?.disconnect();
    await this.admin?.disconnect();
    this.log.info('engine stopped');
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
    for (const active of this.tasks.all()) {
      if (!active.restored) continue;
      await withLock(active, async () => {
        if (this.stopping || !this.tasks.holds(active) || !active.task.hasPendingWork) return;
        await this.commits.commit(active);
        committed.push(active.task.id);
      }).catch((error: unknown) => this.log.warn({ err: error, task: active.task.id }, 'commit before rejoining failed'));
    }
    const tasks = this.tasks.ids();
    if (tasks.length > 0) this.log.info({ committed, tasks }, 'rebalance: tasks committed before rejoining the group');
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
      detail: { joined: this.joined, tasks: this.tasks.ids().length, restoring, stalled, globalTablesCaughtUp, waitingFor: this.waitingFor },
    };
  }

  /** Tasks that cannot move on now, with the partition and the reason. */
  stalls(): TaskStall[] {
    return this.tasks.all().flatMap((t) => (t.stall ? [t.stall] : []));
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

  private taskIds(assignment: Record<string, number[]>): Set<string> {
    const ids = new Set<string>();
    for (const [topic, partitions] of Object.entries(assignment)) {
      const sub = this.subByTopic.get(topic);
      if (sub) for (const p of partitions) ids.add(`${sub.id}_${p}`);
    }
    return ids;
  }

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
}

/** kafkajs on `config.kafka`, its tasks' producers on the client `config.producerClient` names. */
function engineClient(clientId: string, config: EngineConfig, log: Logger): KafkaClient {
  const kafkajs = kafkajsClient(clientId, config.kafka, log);
  return config.producerClient === 'platformatic' ? withPlatformaticProducers(kafkajs, clientId, config.kafka) : kafkajs;
}
