import type { Message, Producer } from '../runtime/kafka/client';
import type { Touchpoint } from '../processors/model/touchpoint';
import type { AvroSerde } from '../runtime/serde/avro-serde';
import type { TouchpointGenerator } from '../simulator/generator';
import { MALFORMED_ATTRIBUTE } from '../simulator/sessions';

/**
 * The simulated channels: takes the population's touchpoints (and the
 * outcomes the responder injected) from the generator in event-time order
 * and produces them to touchpoints.raw at a wall-clock rate, one request in
 * flight so records stay in order. Keyed by the first identifier's value,
 * as a channel would (the engine re-keys by identifier itself).
 */
export class Feed {
  /** Touchpoints sent (acknowledged by the broker). */
  sent = 0;
  /** The period is generated and nothing injected is waiting. */
  drained = false;
  private stopping = false;
  private loop?: Promise<void>;
  private failure?: Error;

  constructor(
    private readonly generator: TouchpointGenerator,
    private readonly producer: Producer,
    private readonly serde: AvroSerde<Touchpoint>,
    private readonly topic: string,
    /** Touchpoints per second (wall clock); Infinity for as fast as possible. */
    private readonly rate: number,
  ) {}

  start(): void {
    this.loop = this.run().catch((error: unknown) => {
      this.failure = error as Error;
    });
  }

  /** Throws what stopped the feed, if something did. */
  check(): void {
    if (this.failure) throw this.failure;
  }

  /** Stops after the request in flight; resolves once it is acknowledged. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
    this.check();
  }

  private async run(): Promise<void> {
    const { generator } = this;
    // About 20 requests a second at a target rate; at most 2000 records per request (kafkajs stalls on larger ones).
    const batchSize = Number.isFinite(this.rate) ? Math.max(1, Math.min(2000, Math.ceil(this.rate / 20))) : 2000;
    let nextAt = performance.now();
    while (!this.stopping) {
      const messages: Message[] = [];
      for (let t = generator.take(); t !== undefined; t = generator.take()) {
        messages.push(this.toMessage(t));
        if (messages.length === batchSize) break;
      }
      if (messages.length > 0) {
        await this.producer.send({ topic: this.topic, messages, acks: -1 });
        this.sent += messages.length;
      }
      this.drained = generator.done;
      if (Number.isFinite(this.rate)) {
        // A token bucket with at most a second of burst: after a quiet spell the feed does not race to catch up.
        const now = performance.now();
        nextAt = Math.max(nextAt, now - 1000) + (messages.length / this.rate) * 1000;
        if (nextAt > now) await sleep(nextAt - now);
      }
      if (messages.length < batchSize) await sleep(100); // the period is generated: only outcomes still come
      else await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  private toMessage(t: Touchpoint): Message {
    const key = t.identifiers.length > 0 ? t.identifiers[0]!.value : null;
    // The simulator's dead-letter material (malformedShare, 0 by default): bytes that are not Avro.
    if (t.attributes[MALFORMED_ATTRIBUTE] === 'undecodable') return { key, value: Buffer.from(JSON.stringify(t)) };
    return { key, value: this.serde.serialize(this.topic, t) };
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
