/**
 * npx tsx bench/written.ts <topic substring>
 *
 * What a run wrote, from the end offsets of every topic whose name holds the
 * substring (e.g. the stamp of a `bench:e2e --keep` run): records per topic,
 * transaction markers included, with the run's input (`touchpoints.raw`)
 * shown apart from what the engine wrote.
 */
import { stackEndpoints } from '../local-stack/settings';
import { Kafka, logLevel } from '../runtime/kafka/kafkajs/client';

async function main(): Promise<void> {
  const match = process.argv[2];
  if (!match) throw new Error('usage: npx tsx bench/written.ts <topic substring>');
  const admin = new Kafka({ clientId: 'bench-written', brokers: stackEndpoints().brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.includes(match)).sort();
    let written = 0;
    let input = 0;
    for (const topic of topics) {
      const records = (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
      if (topic.endsWith('touchpoints.raw')) input += records;
      else written += records;
      process.stdout.write(`${String(records).padStart(9)}  ${topic}\n`);
    }
    process.stdout.write(`input ${input}, written by the engine ${written}: ${(written / Math.max(1, input)).toFixed(2)} per input record\n`);
  } finally {
    await admin.disconnect();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
});
