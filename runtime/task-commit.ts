import type { TaskProducer } from './kafka/adapter';
import type { RuntimeMetrics } from './metrics';
import type { OutputRecord } from './records';
import type { PendingCommit, StreamTask } from './task';

/**
 * The one commit step of both engines (Kafka and in process): what the
 * task prepared goes out through its producer (records, changelog and
 * input offsets at once), and only once written is it applied to the
 * task's state, with the changelog positions it reached. Throws what the
 * producer throws, leaving the task as it was: the caller aborts it or
 * settles the commit (runtime/kafka/task-commits.ts).
 */
export async function writeCommit(task: StreamTask, pending: PendingCommit, producer: TaskProducer, metrics: RuntimeMetrics): Promise<void> {
  const records = [...pending.outputs, ...pending.changelog];
  const checkpoint = await producer.commit({ records, partition: task.partition, offsets: pending.offsets });
  await task.committed(pending, checkpoint);
  metrics.commits.inc({ outcome: 'committed' });
  for (const [topic, count] of countByTopic(records)) metrics.recordsOut.inc({ topic }, count);
}

function countByTopic(records: readonly OutputRecord[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of records) counts.set(r.topic, (counts.get(r.topic) ?? 0) + 1);
  return counts;
}
