import pino from 'pino';
import { RuntimeMetrics } from '../../runtime/metrics';
import type { TaskBacking } from '../../runtime/state/backing';
import { MemoryBacking } from '../../runtime/state/memory-backing';
import { StreamTask } from '../../runtime/task';
import type { SubTopology } from '../../runtime/topology';

/** Partition 0 of a sub-topology as its own task, outside any driver or engine; every topic has one partition. */
export function standaloneTask(subTopology: SubTopology, options: { backing?: TaskBacking; metrics?: RuntimeMetrics; cacheEntries?: number } = {}): StreamTask {
  return new StreamTask({
    subTopology,
    partition: 0,
    backing: options.backing ?? new MemoryBacking(),
    log: pino({ level: 'silent' }),
    metrics: options.metrics ?? new RuntimeMetrics(),
    partitionsOf: () => 1,
    deadLetterTopic: (topic) => `${topic}.dlq`,
    globalStores: new Map(),
    defaultCacheEntries: options.cacheEntries ?? 100,
  });
}
