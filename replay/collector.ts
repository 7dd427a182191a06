import { DLQ_HEADERS, type OutputRecord } from '../runtime/records';
import type { DiffTracker } from './diff';
import type { OutputDecoder, OutputTopics, TriggerLiftRecord } from './records';
import { CounterSeries } from './series';

/**
 * What one variant's run produced, reduced as it streams by: counters over
 * event time (commands by trigger and channel, suppressions by trigger and
 * reason, segment entries and exits), the latest lift record of every
 * (trigger, partition), dead letters by kind, and every command and
 * decision handed to the diff. Nothing per record is kept.
 */
export class VariantCollector {
  /** Touchpoints given to this variant's topology. */
  touchpoints = 0;
  /** Records per output topic (without the prefix). */
  readonly outputs = new Map<string, number>();
  readonly deadLetters = new Map<string, number>();
  /** key `trigger|channel`, at createdAt */
  readonly commands = new CounterSeries();
  /** key `trigger|outcome`, at decidedAt */
  readonly decisions = new CounterSeries();
  /** key segment, +1 per enter and -1 per exit, at the change's time (warm-up included: sizes carry over) */
  readonly segments = new CounterSeries();
  /** Latest per `trigger|partition`. */
  readonly lift = new Map<string, TriggerLiftRecord>();
  /** Lift as it stood when the report window opened (see `reportFrom`), subtracted from the final counts. */
  readonly liftAtStart = new Map<string, TriggerLiftRecord>();
  private readonly names: Map<string, string>;

  constructor(
    readonly name: string,
    private readonly topics: OutputTopics,
    private readonly decoder: OutputDecoder,
    private readonly diff?: { tracker: DiffTracker; side: 0 | 1 },
    /** Outputs before this event time are warm-up: they shape state and segment sizes, but are not counted. */
    private readonly reportFrom = -Infinity,
  ) {
    this.names = new Map([
      [topics.commands, 'engagement.commands'],
      [topics.decisions, 'engagement.decisions'],
      [topics.membership, 'segments.membership'],
      [topics.views, 'profiles.view'],
      [topics.lift, 'engagement.lift'],
      [topics.audit, 'identity.audit'],
    ]);
  }

  /** Whether a record of this topic is one the report or --output-prefix cares about (not internal topics or changelogs). */
  isProductOutput(topic: string): boolean {
    return this.names.has(topic) || topic.endsWith('.dlq');
  }

  accept(record: OutputRecord): void {
    const topic = record.topic;
    const name = this.names.get(topic);
    if (name === undefined) {
      if (topic.endsWith('.dlq')) {
        this.count(this.outputs, 'dead letters');
        this.count(this.deadLetters, record.headers[DLQ_HEADERS.kind] ?? 'unknown');
      }
      return;
    }
    this.count(this.outputs, name);
    const value = record.value;
    if (value === null) return;
    const side = this.diff;
    switch (topic) {
      case this.topics.commands: {
        const c = this.decoder.command(value);
        if (c.createdAt < this.reportFrom) return;
        this.commands.add(c.createdAt, `${c.triggerId}|${c.channel}`);
        side?.tracker.command(side.side, c, value);
        return;
      }
      case this.topics.decisions: {
        const d = this.decoder.decision(value);
        if (d.decidedAt < this.reportFrom) return;
        this.decisions.add(d.decidedAt, `${d.triggerId}|${d.outcome}`);
        side?.tracker.decision(side.side, d, value);
        return;
      }
      case this.topics.membership: {
        const m = this.decoder.membership(value);
        this.segments.add(m.at, m.segment, m.change === 'enter' ? 1 : m.change === 'exit' ? -1 : 0);
        return;
      }
      case this.topics.lift: {
        const l = this.decoder.lift(value);
        const key = `${l.triggerId}|${l.partition}`;
        const target = l.asOf < this.reportFrom ? this.liftAtStart : this.lift;
        const kept = target.get(key);
        if (kept === undefined || l.asOf >= kept.asOf) target.set(key, l);
        return;
      }
    }
  }

  private count(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }
}
