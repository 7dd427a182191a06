/**
 * npm run bench:runtime [-- --records 200000 --keys 10000 --producers kafkajs,platformatic]
 *
 * On one broker, in one run: (a) raw kafkajs consume -> produce
 * passthrough, (b) the runtime with a read-modify-write of one store entry
 * per record (the counting topology), exactly-once, once per client of the
 * tasks' producers in `--producers` (default kafkajs), (c) the same,
 * at-least-once, kafkajs. Each reads the same pre-produced input from the start of
 * its own consumer group; the clock runs from start to the moment every
 * input offset is committed. Prints records/s and the ratios b/a, c/a.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, Partitioners, type Admin } from '../runtime/kafka/kafkajs/client';
import pino from 'pino';
import { up } from '../local-stack/stack';
import { stackEndpoints } from '../local-stack/settings';
import { Engine, type ProcessingGuarantee } from '../runtime/kafka/engine';
import { PRODUCER_CLIENTS, type ProducerClient } from '../runtime/kafka/engine-config';
import { withRetries } from '../runtime/kafka/kafkajs/retry';
import { eventually } from '../runtime/retry';
import { createPlainTopics, createTopics } from '../runtime/kafka/kafkajs/topics';
import { countingTopology } from '../test/support/counting-topology';
import { ProgressBar } from '../cli/progress';
import { option } from './support';

const PARTITIONS = 4;

async function committed(admin: Admin, groupId: string, topic: string): Promise<number> {
  const [offsets] = await withRetries(() => admin.fetchOffsets({ groupId, topics: [topic] }));
  return offsets!.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
}

async function untilCommitted(admin: Admin, groupId: string, topic: string, total: number, label: string): Promise<void> {
  const progress = new ProgressBar({ label, unit: 'records' });
  await eventually(
    async () => {
      const done = await committed(admin, groupId, topic);
      progress.update({ count: done, total });
      return done >= total;
    },
    `${label} to commit every input offset`,
    900_000,
    100,
  );
  progress.finish({ count: total, total });
}

async function passthrough(kafka: Kafka, admin: Admin, input: string, output: string, total: number): Promise<number> {
  const groupId = `bench-raw-${Date.now()}`;
  const consumer = kafka.consumer({ groupId, maxBytesPerPartition: 2 * 1024 * 1024 });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await Promise.all([consumer.connect(), producer.connect()]);
  await consumer.subscribe({ topic: input, fromBeginning: true });
  const started = Date.now();
  await consumer.run({
    partitionsConsumedConcurrently: PARTITIONS,
    eachBatch: async ({ batch }) => {
      // Chunked like the runtime's commits: large concurrent produce requests stall kafkajs.
      for (let i = 0; i < batch.messages.length; i += 2000) {
        await producer.send({ topic: output, messages: batch.messages.slice(i, i + 2000).map((m) => ({ key: m.key, value: m.value })) });
      }
    },
  });
  await untilCommitted(admin, groupId, input, total, '(a) kafkajs passthrough');
  const seconds = (Date.now() - started) / 1000;
  await consumer.disconnect();
  await producer.disconnect();
  return total / seconds;
}

async function runtime(admin: Admin, guarantee: ProcessingGuarantee, producerClient: ProducerClient, input: string, total: number, label: string): Promise<number> {
  const appId = `bench-${guarantee}-${producerClient}-${Date.now()}`;
  const output = `${appId}-out`;
  const topology = countingTopology(appId, input, output, PARTITIONS);
  await createTopics(admin, topology);
  const engine = new Engine(topology, {
    kafka: { brokers: stackEndpoints().brokers },
    stateDir: await mkdtemp(join(tmpdir(), 'lp-bench-')),
    guarantee,
    producerClient,
    commitIntervalMs: 100,
    maxUncommittedRecords: 50_000,
    cacheEntriesPerStore: 100_000,
    partitionsConsumedConcurrently: PARTITIONS,
    advertisedEndpoint: 'localhost:0',
    log: pino({ level: 'warn' }),
  });
  const started = Date.now();
  await engine.start();
  await untilCommitted(admin, appId, input, total, label);
  const seconds = (Date.now() - started) / 1000;
  await engine.stop();
  return total / seconds;
}

async function main(): Promise<void> {
  const total = Number(option('records', '200000'));
  const keys = Number(option('keys', '10000'));
  const producers = option('producers', 'kafkajs').split(',') as ProducerClient[];
  for (const p of producers) if (!PRODUCER_CLIENTS.includes(p)) throw new Error(`--producers: '${p}' is not one of ${PRODUCER_CLIENTS.join(', ')}`);
  await up((line) => console.error(line));
  const kafka = new Kafka({ clientId: 'bench', brokers: stackEndpoints().brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const input = `bench-in-${Date.now()}`;
  const rawOut = `${input}-raw-out`;
  await createPlainTopics(admin, [input, rawOut], PARTITIONS);

  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const progress = new ProgressBar({ label: 'producing input', unit: 'records' });
  for (let i = 0; i < total; i += 10_000) {
    const n = Math.min(10_000, total - i);
    await producer.send({ topic: input, messages: Array.from({ length: n }, (_, j) => ({ key: `k${(i + j) % keys}`, value: `v${i + j}` })) });
    progress.update({ count: i + n, total });
  }
  progress.finish({ count: total, total });
  await producer.disconnect();

  const a = await passthrough(kafka, admin, input, rawOut, total);
  const b: [ProducerClient, number][] = [];
  for (const p of producers) b.push([p, await runtime(admin, 'exactly_once', p, input, total, `(b) runtime exactly-once, ${p} producers`)]);
  const c = await runtime(admin, 'at_least_once', 'kafkajs', input, total, '(c) runtime at-least-once');
  await admin.disconnect();

  const f = (n: number) => Math.round(n).toLocaleString('en-US');
  console.log(`\nrecords: ${total.toLocaleString('en-US')}, keys: ${keys}, partitions: ${PARTITIONS}`);
  console.log(`(a) kafkajs passthrough            ${f(a)} records/s`);
  for (const [p, rate] of b) console.log(`(b) runtime, store RMW, exactly-once, ${p} producers ${f(rate)} records/s   b/a = ${(rate / a).toFixed(2)}`);
  console.log(`(c) runtime, store RMW, at-least-once ${f(c)} records/s   c/a = ${(c / a).toFixed(2)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
