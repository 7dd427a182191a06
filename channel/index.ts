/**
 * The channel library (`listening-post/channel`): what a channel (a web
 * site, an app, a call-centre desktop) needs to act on the engine's
 * commands and report what became of them.
 *
 *   const client = await ChannelClient.connect({ channel: 'web', groupId: 'web-banners' });
 *   await client.subscribe(async (command) => {
 *     showBanner(command);                       // the channel's own work
 *     await client.report(command, 'shown', { identifiers: [{ type: 'anonymous_id', value: cookie }] });
 *   });
 *
 * Commands are read read_committed (exactly what the engine committed),
 * decoded with their writer schema from the registry; commands for other
 * channels and commands past their expiry are skipped (counted in `stats`).
 * A report is a touchpoint on touchpoints.raw whose event id is derived
 * from the command id and the outcome, so a retried report is the same
 * event and the engine counts it once. Connection settings come from the
 * same environment variables as the engine's (LP_KAFKA_*, LP_REGISTRY_*,
 * LP_TOPIC_PREFIX).
 */
import { stackEndpoints } from '../local-stack/settings';
import { touchpoint, type Identifier, type OutcomeEvent, type Touchpoint } from '../processors/model/touchpoint';
import type { EngagementCommand } from '../processors/triggers/records';
import pino, { type Logger } from 'pino';
import { loggingKafka, Partitioners, type Consumer, type Kafka, type Producer } from '../runtime/kafka/kafkajs/client';
import { kafkaConnection } from '../runtime/kafka/connection';
import { AvroSerde } from '../runtime/serde/avro-serde';
import { ConfluentRegistry, registryAuth } from '../runtime/serde/registry';
import { SchemaCatalog } from '../runtime/serde/schema-catalog';
import { SCHEMAS_DIR, topicNames } from '../topology';

export type { EngagementCommand } from '../processors/triggers/records';
export type { Identifier, OutcomeEvent } from '../processors/model/touchpoint';

export interface ChannelClientOptions {
  /** The channel this client acts for (a command's `channel`). */
  channel: string;
  /** The consumer group: one per channel deployment, so its instances share the commands. */
  groupId: string;
  /** LP_* connection settings; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** The clock expiry is judged by (default Date.now). */
  now?: () => number;
  /** Where the Kafka client's own warnings and errors go (default: pino on stdout, warn and above). */
  log?: Logger;
}

export interface ChannelStats {
  handled: number;
  skippedExpired: number;
  skippedOtherChannel: number;
  reported: number;
}

export class ChannelClient {
  readonly stats: ChannelStats = { handled: 0, skippedExpired: 0, skippedOtherChannel: 0, reported: 0 };
  private consumer?: Consumer;

  private constructor(
    private readonly options: ChannelClientOptions,
    private readonly kafka: Kafka,
    private readonly producer: Producer,
    private readonly topics: ReturnType<typeof topicNames>,
    private readonly commands: AvroSerde<EngagementCommand>,
    private readonly touchpoints: AvroSerde<Touchpoint>,
  ) {}

  static async connect(options: ChannelClientOptions): Promise<ChannelClient> {
    const env = options.env ?? process.env;
    const endpoints = stackEndpoints(env);
    const kafka = loggingKafka(`listening-post-channel-${options.channel}`, kafkaConnection(endpoints.brokers, env), options.log ?? pino({ level: 'warn' }));
    const registry = new ConfluentRegistry(endpoints.registryUrl, registryAuth(env));
    const catalog = SchemaCatalog.load(SCHEMAS_DIR);
    const topics = topicNames(env.LP_TOPIC_PREFIX ?? '');
    const touchpoints = new AvroSerde<Touchpoint>(registry, catalog.type('Touchpoint'));
    await touchpoints.init(topics.raw);
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await producer.connect();
    return new ChannelClient(options, kafka, producer, topics, new AvroSerde<EngagementCommand>(registry, catalog.type('EngagementCommand')), touchpoints);
  }

  /**
   * Calls `handle` for each live command of this channel, in order per
   * person, until `close`. A command is committed once `handle` returns: a
   * handler that throws gets the command again (at-least-once; a command id
   * never changes content, so handle it idempotently).
   */
  async subscribe(handle: (command: EngagementCommand) => Promise<void>): Promise<void> {
    const consumer = this.kafka.consumer({ groupId: this.options.groupId, readUncommitted: false });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topic: this.topics.commands, fromBeginning: true });
    const now = this.options.now ?? Date.now;
    await consumer.run({
      // Writer schemas are looked up once per batch; offsets advance command by command, so a
      // handler that throws gets its command again, not the batch.
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        await this.commands.prepare(this.topics.commands, batch.messages.map((m) => m.value));
        for (const message of batch.messages) {
          if (!isRunning() || isStale()) return;
          if (message.value !== null) await this.take(this.commands.deserialize(this.topics.commands, message.value), handle, now);
          resolveOffset(message.offset);
          await heartbeat();
        }
      },
    });
  }

  private async take(command: EngagementCommand, handle: (command: EngagementCommand) => Promise<void>, now: () => number): Promise<void> {
    if (command.channel !== this.options.channel) {
      this.stats.skippedOtherChannel++;
      return;
    }
    if (command.expiresAt < now()) {
      this.stats.skippedExpired++;
      return;
    }
    await handle(command);
    this.stats.handled++;
  }

  /**
   * Reports what became of a command (delivered, shown, clicked, converted,
   * dismissed) for the person the channel knows by `identifiers` (raw
   * values, as the channel has them: the engine normalises and hashes them
   * at ingest). Idempotent: the event id is `<commandId>:<outcome>`.
   */
  async report(command: Pick<EngagementCommand, 'commandId' | 'triggerId' | 'channel'>, outcome: OutcomeEvent, person: { identifiers: Identifier[] }, at = (this.options.now ?? Date.now)()): Promise<void> {
    if (person.identifiers.length === 0) throw new Error(`report of ${command.commandId}: the person needs at least one identifier`);
    const event = touchpoint({
      eventId: `${command.commandId}:${outcome}`,
      occurredAt: at,
      channel: command.channel,
      eventType: outcome,
      identifiers: person.identifiers,
      outcome: { commandId: command.commandId, triggerId: command.triggerId },
    });
    await this.producer.send({
      topic: this.topics.raw,
      messages: [{ key: person.identifiers[0]!.value, value: this.touchpoints.serialize(this.topics.raw, event), timestamp: String(at) }],
    });
    this.stats.reported++;
  }

  async close(): Promise<void> {
    await this.consumer?.disconnect();
    await this.producer.disconnect();
  }
}
