import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pino from 'pino';
import { ChannelClient, type EngagementCommand } from '../../channel';
import { assemble, provisionTopics } from '../../cli/app';
import { stackEndpoints } from '../../local-stack/settings';
import type { Touchpoint } from '../../processors/model/touchpoint';
import { AvroSerde } from '../../runtime/serde/avro-serde';
import { ConfluentRegistry } from '../../runtime/serde/registry';
import { SchemaCatalog } from '../../runtime/serde/schema-catalog';
import { SCHEMAS_DIR, topicNames } from '../../topology';
import { readToEnd, testKafka, testProducer, uniqueName } from '../support/kafka';
import { testLog } from '../support/logs';
import { eventually } from '../support/processes';
import { pythonWithKafka, READ_COMMANDS_PY } from '../support/python-kafka';

/**
 * What a channel codes against, on the real stack: the channel library
 * (`listening-post/channel`) takes its live commands and reports outcomes
 * idempotently; a consumer written with a client the project did not write
 * (Python's confluent-kafka, its Avro deserializer and the registry's
 * Confluent-compatible API) decodes the same commands.
 */
jest.setTimeout(180_000);

const run = promisify(execFile);
const kafka = testKafka();
const registry = new ConfluentRegistry(stackEndpoints().registryUrl);
const NOW = Date.now();

function command(id: string, channel: string, expiresAt: number): EngagementCommand {
  return {
    commandId: id,
    profileId: `p-${id}`,
    triggerId: 'cart_abandoned',
    channel,
    action: 'banner',
    contentRef: 'cart-reminder',
    priority: 50,
    createdAt: NOW - 1_000,
    expiresAt,
    trace: { rule: 'test', causeEventIds: [`e-${id}`], scores: {}, segments: [], checks: [] },
  };
}

let prefix: string;
let topics: ReturnType<typeof topicNames>;
const commands = [command('live-web', 'web', NOW + 3_600_000), command('expired-web', 'web', NOW - 60_000), command('live-email', 'email', NOW + 3_600_000)];

beforeAll(async () => {
  prefix = `${uniqueName('channel')}.`;
  topics = topicNames(prefix);
  await provisionTopics(assemble({ log: pino({ level: 'silent' }), env: { ...process.env, LP_TOPIC_PREFIX: prefix } }));
  const serde = new AvroSerde<EngagementCommand>(registry, SchemaCatalog.load(SCHEMAS_DIR).type('EngagementCommand'));
  await serde.init(topics.commands);
  const producer = testProducer(kafka);
  await producer.connect();
  await producer.send({ topic: topics.commands, messages: commands.map((c) => ({ key: c.profileId, value: serde.serialize(topics.commands, c) })) });
  await producer.disconnect();
});

test('the channel library hands over its live commands and reports outcomes with an event id per command and outcome', async () => {
  const client = await ChannelClient.connect({ channel: 'web', groupId: uniqueName('channel-web'), env: { ...process.env, LP_TOPIC_PREFIX: prefix }, log: testLog('channel-web') });
  const handled: EngagementCommand[] = [];
  try {
    await client.subscribe(async (c) => void handled.push(c));
    await eventually(async () => client.stats.handled + client.stats.skippedExpired + client.stats.skippedOtherChannel === commands.length, 'every command seen');
    expect(handled.map((c) => c.commandId)).toEqual(['live-web']);
    expect(client.stats).toMatchObject({ handled: 1, skippedExpired: 1, skippedOtherChannel: 1 });
    const visitor = { identifiers: [{ type: 'anonymous_id', value: 'cookie-42' }] };
    await client.report(handled[0]!, 'shown', visitor);
    await client.report(handled[0]!, 'shown', visitor); // a retry: the same event
    await client.report(handled[0]!, 'clicked', visitor);
  } finally {
    await client.close();
  }
  const serde = new AvroSerde<Touchpoint>(registry, SchemaCatalog.load(SCHEMAS_DIR).type('Touchpoint'));
  const raw = await readToEnd(kafka, topics.raw);
  await serde.prepare(topics.raw, raw.map((m) => m.value));
  const reports = raw.map((m) => serde.deserialize(topics.raw, m.value!));
  expect(reports.map((t) => t.eventId)).toEqual(['live-web:shown', 'live-web:shown', 'live-web:clicked']);
  expect(reports[0]).toMatchObject({ channel: 'web', eventType: 'shown', identifiers: [{ type: 'anonymous_id', value: 'cookie-42' }], outcome: { commandId: 'live-web', triggerId: 'cart_abandoned' } });
});

test('a Python consumer (confluent-kafka, read_committed, Avro through the registry) decodes the commands', async () => {
  const python = pythonWithKafka();
  const { stdout } = await run(python, [READ_COMMANDS_PY, stackEndpoints().brokers.join(','), stackEndpoints().registryUrl, topics.commands, String(commands.length), '90']);
  const read = stdout.trim().split('\n').map((line) => JSON.parse(line) as { key: string; command: EngagementCommand });
  expect(read.map((r) => r.command.commandId).sort()).toEqual(commands.map((c) => c.commandId).sort());
  const live = read.find((r) => r.command.commandId === 'live-web')!;
  expect(live.key).toBe('p-live-web');
  expect(live.command).toMatchObject({ channel: 'web', action: 'banner', contentRef: 'cart-reminder', expiresAt: commands[0]!.expiresAt, trace: { causeEventIds: ['e-live-web'] } });
});
