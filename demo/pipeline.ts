import type { Admin } from '../runtime/kafka/kafkajs/client';
import type { Counter } from 'prom-client';
import type { Engine } from '../runtime/kafka/engine';
import { committedTotal } from '../runtime/kafka/kafkajs/topic-follower';

/**
 * When has an engine processed everything it was given? Its raw input is
 * plain (non-transactional) records, so the group's committed offsets reach
 * the count produced exactly. Its internal topics (identity.links,
 * touchpoints.resolved) are written in transactions, whose commit markers
 * take offsets no consumer ever commits past, so for them the engine's own
 * counters say it: everything it produced to a topic (counted after the
 * commit) has been consumed again. Then the committed offsets must stay
 * still for a few commit intervals (the last commit has landed).
 */
export interface PipelineTopics {
  raw: string;
  links: string;
  resolved: string;
}

export interface Settled {
  /** All conditions hold and nothing has moved for the quiet period. */
  done: boolean;
  /** Raw touchpoints committed by the engine's group. */
  raw: number;
  /** Wall-clock time (ms) of the last observed change in any committed offset. */
  lastChange: number;
  /** Every raw touchpoint is committed and every link consumed: the identity graph is complete. */
  identityDone: boolean;
  /** What is still missing, in words (empty when done). */
  waiting: string;
}

async function byTopic(counter: Counter<'topic'>): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const v of (await counter.get()).values) out.set(String(v.labels.topic), (out.get(String(v.labels.topic)) ?? 0) + v.value);
  return out;
}

/** Raw touchpoints the engine has committed, from its own counters (cheap enough to ask before every produce request). */
export async function rawProcessed(engine: Engine, topics: PipelineTopics): Promise<number> {
  return (await byTopic(engine.metrics.recordsIn)).get(topics.raw) ?? 0;
}

export class PipelineWatch {
  private last = '';
  private lastChange = Date.now();
  private lastIdentity = '';
  private lastIdentityChange = Date.now();

  constructor(
    private readonly admin: Admin,
    private readonly engine: Engine,
    private readonly groupId: string,
    private readonly topics: PipelineTopics,
    private readonly quietMs: number,
  ) {}

  async poll(expectedRaw: number): Promise<Settled> {
    const [raw, links, resolved] = await Promise.all([
      committedTotal(this.admin, this.groupId, this.topics.raw),
      committedTotal(this.admin, this.groupId, this.topics.links),
      committedTotal(this.admin, this.groupId, this.topics.resolved),
    ]);
    const now = Date.now();
    const state = `${raw}/${links}/${resolved}`;
    if (state !== this.last) {
      this.last = state;
      this.lastChange = now;
    }
    if (`${raw}/${links}` !== this.lastIdentity) {
      this.lastIdentity = `${raw}/${links}`;
      this.lastIdentityChange = now;
    }
    const [consumed, produced] = await Promise.all([byTopic(this.engine.metrics.recordsIn), byTopic(this.engine.metrics.recordsOut)]);
    const behind = (topic: string) => (produced.get(topic) ?? 0) - (consumed.get(topic) ?? 0);
    const waiting: string[] = [];
    if (raw < expectedRaw) waiting.push(`${expectedRaw - raw} raw touchpoints to commit`);
    for (const topic of [this.topics.links, this.topics.resolved]) if (behind(topic) > 0) waiting.push(`${behind(topic)} records of ${topic} to consume`);
    if (waiting.length === 0 && now - this.lastChange < this.quietMs) {
      waiting.push(now - this.lastIdentityChange >= this.quietMs ? `the profile task to go quiet (it keeps consuming ${this.topics.resolved})` : 'the last commits to land');
    }
    const identityDone = raw >= expectedRaw && behind(this.topics.links) <= 0 && now - this.lastIdentityChange >= this.quietMs;
    return { done: waiting.length === 0, identityDone, raw, lastChange: this.lastChange, waiting: waiting.join(', ') };
  }
}
