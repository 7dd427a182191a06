import { join } from 'node:path';
import type { Logger } from 'pino';
import { GlobalTable } from '../state/global-table';
import { RocksBacking } from '../state/rocks-backing';
import type { Topology } from '../topology';
import type { KafkaClient, PartitionReader } from './adapter';

/** A global table that has not stood at its topic's end for this long makes the instance not ready. */
const STALE_MS = 10_000;
/** How long a read at a global table's end waits on the broker for new records. */
const WAIT_MS = 500;

/**
 * The topology's global tables on this instance: each opened from its own
 * RocksDB, caught up with its topic before the instance consumes, then
 * followed for as long as it runs.
 *
 * The reads have their own connections: a broker answers one connection's
 * requests in order, so a fetch waiting at a table's end would hold up the
 * restorations behind it.
 */
export class GlobalTables {
  private readonly tables = new Map<string, GlobalTable<unknown>>();
  private readonly reader: PartitionReader;
  /** Wall-clock time every table last read up to its topic's end (0: never yet). */
  private caughtUpAt = 0;
  /** When each followed partition (`topic/partition`) last stood at its end. */
  private readonly partitionCaughtUp = new Map<string, number>();
  private following?: Promise<void>;
  private stopping = false;

  constructor(
    client: KafkaClient,
    private readonly topology: Topology,
    private readonly stateDir: string,
    private readonly log: Logger,
  ) {
    this.reader = client.partitionReader();
  }

  /**
   * Opens (once) and catches up every table, then follows them in the
   * background; safe to call again after a failed attempt.
   */
  async start(): Promise<void> {
    await this.reader.connect();
    for (const g of this.topology.globalStores) {
      let table = this.tables.get(g.options.topic);
      if (!table) {
        const backing = await RocksBacking.open(join(this.stateDir, this.topology.appId, `global-${g.name}`));
        table = new GlobalTable(g.name, g.options.topic, backing, g.options.value);
        this.tables.set(g.options.topic, table);
      }
      await this.catchUp(table);
    }
    this.caughtUpAt = Date.now();
    if (this.tables.size > 0) this.following = this.followAll();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.following;
    for (const table of this.tables.values()) await table.close();
    await this.reader.disconnect();
  }

  /** By store name, as tasks look them up. */
  byName(): Map<string, GlobalTable<unknown>> {
    return new Map([...this.tables.values()].map((t) => [t.name, t]));
  }

  /**
   * Every table caught up at start and, since, every followed partition
   * stood at its end within STALE_MS: a followed table reaches its end at
   * least every WAIT_MS, so one that has not for longer (the broker is away,
   * the read fails, it is far behind) is behind the links it should resolve
   * against.
   */
  caughtUp(): boolean {
    if (this.caughtUpAt === 0) return false;
    if (this.tables.size === 0) return true;
    const followed = [...this.partitionCaughtUp.values()];
    const oldest = followed.length > 0 ? Math.min(...followed) : this.caughtUpAt;
    return Date.now() - oldest < STALE_MS;
  }

  /** Reads each partition of the table's topic from its checkpoint to the current end. */
  private async catchUp(table: GlobalTable<unknown>): Promise<void> {
    const positions = await table.positions();
    for (let partition = 0; partition < this.partitions(table); partition++) {
      await this.reader.read({
        topic: table.topic,
        partition,
        from: positions.get(partition) ?? 0n,
        maxWaitMs: 0,
        stopped: () => this.stopping,
        onRecords: (records, next) => table.apply(records, new Map([[partition, next]])),
      });
    }
  }

  /**
   * Follows every partition of every table with a blocking read (a fetch
   * that waits on the broker for new records): a merge reaches the resolvers
   * as soon as the link task's commit does, and a quiet table costs one
   * request per WAIT_MS per partition.
   */
  private async followAll(): Promise<void> {
    const follows: Promise<void>[] = [];
    for (const table of this.tables.values()) {
      for (let partition = 0; partition < this.partitions(table); partition++) {
        const key = `${table.topic}/${partition}`;
        this.partitionCaughtUp.set(key, Date.now());
        follows.push(this.follow(table, partition, () => this.partitionCaughtUp.set(key, Date.now())));
      }
    }
    await Promise.all(follows);
  }

  /** A read that fails starts again from the table's checkpoint after a pause. */
  private async follow(table: GlobalTable<unknown>, partition: number, caughtUp: () => void): Promise<void> {
    while (!this.stopping) {
      try {
        await this.reader.follow({
          topic: table.topic,
          partition,
          from: (await table.positions()).get(partition) ?? 0n,
          maxWaitMs: WAIT_MS,
          stopped: () => this.stopping,
          onCaughtUp: caughtUp,
          onRecords: (records, next) => table.apply(records, new Map([[partition, next]])),
        });
      } catch (error) {
        this.log.error({ err: error, table: table.name, partition }, 'reading a global table failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
  }

  private partitions(table: GlobalTable<unknown>): number {
    return this.topology.topics.find((t) => t.name === table.topic)?.partitions ?? 1;
  }
}
