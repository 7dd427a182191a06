import type { Message, Producer } from '../runtime/kafka/kafkajs/client';
import type { Touchpoint } from '../processors/model/touchpoint';
import type { AvroSerde } from '../runtime/serde/avro-serde';
import type { TouchpointGenerator } from '../simulator/generator';
import { MALFORMED_ATTRIBUTE } from '../simulator/sessions';

/**
 * How far the engine has got, and how far the feed may run ahead of it.
 * Simulated time runs thousands of times faster than wall time, so a
 * second of lag in the engine is hours of event time: the screen says how
 * far behind the engine is, and with `aheadMs` the feed waits for it.
 */
export interface Pacing {
  /** At most this much event time past what the engine has processed; null: unpaced, only measured. */
  aheadMs: number | null;
  /** Raw touchpoints the engine has committed so far. */
  processed(): Promise<number>;
}

/** After a produce request: this many touchpoints sent, the latest of them at `until`. */
interface Checkpoint {
  sent: number;
  until: number;
}

/**
 * The simulated channels: takes the population's touchpoints (and the
 * outcomes the responder injected) from the generator in event-time order
 * and produces them to touchpoints.raw at a wall-clock rate, one request in
 * flight so records stay in order, paced (see Pacing) when asked. Keyed by
 * the first identifier's value, as a channel would (the engine re-keys by
 * identifier itself).
 */
export class Feed {
  /** Touchpoints sent (acknowledged by the broker). */
  sent = 0;
  /** Event time of the latest touchpoint sent. */
  sentUntil: number;
  /** Event time up to which the engine has processed everything sent. */
  processedUntil: number;
  /** The period is generated and nothing injected is waiting. */
  drained = false;
  private stopping = false;
  private loop?: Promise<void>;
  private failure?: Error;
  /** Taken from the generator past the pacing limit: it goes first once the limit moves. */
  private held?: Touchpoint;
  private readonly checkpoints: Checkpoint[] = [];

  constructor(
    private readonly generator: TouchpointGenerator,
    private readonly producer: Producer,
    private readonly serde: AvroSerde<Touchpoint>,
    private readonly topic: string,
    /** Touchpoints per second (wall clock); Infinity for as fast as possible. */
    private readonly rate: number,
    private readonly pacing: Pacing,
  ) {
    this.sentUntil = generator.start;
    this.processedUntil = generator.start;
  }

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
      const limit = await this.limit();
      const messages: Message[] = [];
      for (let t = this.held ?? generator.take(); t !== undefined; t = generator.take()) {
        this.held = undefined;
        if (t.occurredAt > limit) {
          this.held = t;
          break;
        }
        messages.push(this.toMessage(t));
        this.sentUntil = Math.max(this.sentUntil, t.occurredAt);
        if (messages.length === batchSize) break;
      }
      if (messages.length > 0) {
        await this.producer.send({ topic: this.topic, messages, acks: -1 });
        this.sent += messages.length;
        this.checkpoints.push({ sent: this.sent, until: this.sentUntil });
      }
      this.drained = generator.done && this.held === undefined;
      if (this.held !== undefined && messages.length === 0) {
        await sleep(20); // the engine is behind the pacing limit: wait for it, not for the rate
        continue;
      }
      if (Number.isFinite(this.rate)) {
        // A token bucket with at most a second of burst: after a quiet spell the feed does not race to catch up.
        const now = performance.now();
        nextAt = Math.max(nextAt, now - 1000) + (messages.length / this.rate) * 1000;
        if (nextAt > now) await sleep(nextAt - now);
      }
      if (messages.length < batchSize && this.held === undefined) await sleep(100); // the period is generated: only outcomes still come
      else await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /**
   * Moves `processedUntil` to the last request the engine has committed in
   * full. Once it has processed everything sent, it has seen all event time
   * up to the next touchpoint (nothing lies between), so a gap longer than
   * the pacing allowance does not stop the feed.
   */
  async measure(): Promise<void> {
    const processed = await this.pacing.processed();
    while (this.checkpoints.length > 0 && this.checkpoints[0]!.sent <= processed) this.processedUntil = this.checkpoints.shift()!.until;
    if (processed >= this.sent) this.processedUntil = Math.max(this.sentUntil, this.held?.occurredAt ?? this.sentUntil);
  }

  /** The latest event time the feed may send now (no limit unpaced). */
  private async limit(): Promise<number> {
    await this.measure();
    return this.pacing.aheadMs === null ? Infinity : this.processedUntil + this.pacing.aheadMs;
  }

  private toMessage(t: Touchpoint): Message {
    const key = t.identifiers.length > 0 ? t.identifiers[0]!.value : null;
    // The simulator's dead-letter material (malformedShare, 0 by default): bytes that are not Avro.
    if (t.attributes[MALFORMED_ATTRIBUTE] === 'undecodable') return { key, value: Buffer.from(JSON.stringify(t)) };
    return { key, value: this.serde.serialize(this.topic, t) };
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
