/**
 * The counting topology as a standalone process, for tests that kill and
 * restart it. Configured by environment: COUNT_APP_ID, COUNT_INPUT,
 * COUNT_OUTPUT, COUNT_PARTITIONS, COUNT_STATE_DIR, COUNT_GUARANTEE,
 * COUNT_PRODUCER_CLIENT.
 */
import { stackEndpoints } from '../../local-stack/settings';
import { Engine } from '../../runtime/kafka/engine';
import type { ProducerClient } from '../../runtime/kafka/engine-config';
import { createLogger } from '../../runtime/logger';
import { countingTopology } from './counting-topology';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

async function main(): Promise<void> {
  const log = createLogger('counting-app', process.env.LOG_LEVEL ?? 'warn');
  const topology = countingTopology(env('COUNT_APP_ID'), env('COUNT_INPUT'), env('COUNT_OUTPUT'), Number(env('COUNT_PARTITIONS')));
  const engine = new Engine(topology, {
    kafka: { brokers: stackEndpoints().brokers },
    stateDir: env('COUNT_STATE_DIR'),
    guarantee: (process.env.COUNT_GUARANTEE as 'exactly_once' | 'at_least_once') ?? 'exactly_once',
    producerClient: (process.env.COUNT_PRODUCER_CLIENT as ProducerClient | undefined) ?? 'kafkajs',
    commitIntervalMs: 100,
    maxUncommittedRecords: 2_000,
    cacheEntriesPerStore: 50_000,
    partitionsConsumedConcurrently: 4,
    sessionTimeoutMs: 6_000,
    advertisedEndpoint: 'localhost:0',
    log,
  });
  const stop = () => {
    engine.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await engine.start();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
