import type { Logger } from 'pino';
import type { RuntimeMetrics } from '../metrics';
import type { RocksBacking } from '../state/rocks-backing';
import type { StreamTask } from '../task';
import { KafkaError } from './kafka-errors';
import type { PartitionReader } from './adapter';

export interface RestoreOptions {
  reader: PartitionReader;
  /** Called after each fetched chunk, so a long restoration does not cost the member its place in the group. */
  heartbeat(): Promise<void>;
  stopped(): boolean;
  log: Logger;
  metrics: RuntimeMetrics;
}

/**
 * Brings a task's RocksDB up to its changelogs' ends: each changelog
 * partition is read from the checkpoint RocksDB holds (a checkpoint older
 * than the changelog's start, after retention or a compaction, restores from
 * the start instead).
 */
export async function restoreTask(task: StreamTask, backing: RocksBacking, options: RestoreOptions): Promise<void> {
  const { reader, log } = options;
  const checkpoint = await backing.checkpoint();
  for (const changelog of task.changelogTopics) {
    const started = Date.now();
    let from = checkpoint.get(changelog) ?? 0n;
    let applied = 0;
    const read = () =>
      reader.read({
        topic: changelog,
        partition: task.partition,
        from,
        stopped: options.stopped,
        onRecords: async (records, next) => {
          await task.restore(changelog, records, next);
          applied += records.length;
          options.metrics.restoredRecords.inc({ topic: changelog }, records.length);
          await options.heartbeat();
        },
      });
    try {
      await read();
    } catch (error) {
      if (!(error instanceof KafkaError && error.kind === 'offset-out-of-range')) throw error;
      log.warn({ changelog, from: from.toString() }, 'checkpoint is older than the changelog; restoring from its start');
      from = (await reader.bounds(changelog, [task.partition])).get(task.partition)!.start;
      await read();
    }
    if (applied > 0) log.info({ changelog, records: applied, ms: Date.now() - started }, 'restored');
  }
}
