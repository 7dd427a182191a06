import type { IdentityAudit } from '../processors/identity/audit';
import { liftEstimate, type TriggerLift } from '../processors/outcomes/lift';
import type { SegmentMembership } from '../processors/segmentation/segmentation-processor';
import type { EngagementCommand, EngagementDecision } from '../processors/triggers/records';
import { combineLift } from '../processors/outcomes/merge';
import type { ConsoleCommand, ConsoleDecision, ConsoleMerge, LiftRow, LiveSeries, LiveSnapshot, SegmentActivity } from './model';

/**
 * What the console knows of the engine's outputs, read from its topics as
 * any downstream consumer would (console/source.ts feeds it): the recent
 * commands, decisions and merges of each person for the agent's page, and
 * the roll-up for the live page. Memory is bounded: a fixed number of
 * people (least recently touched forgotten first), a fixed number of
 * entries per person and per trigger, a fixed span of series.
 */

/** Offsets sampled from the broker: what arrived, what the engine committed, what is left. */
export interface OffsetSample {
  at: number;
  /** Sum of touchpoints.raw's end offsets. */
  rawEnd: number;
  /** Sum of the engine group's committed offsets on touchpoints.raw. */
  rawCommitted: number;
  /** Sum of the dead-letter topic's end offsets. */
  deadLetterEnd: number;
  lag: { topic: string; lag: number }[];
}

export interface ActivityLimits {
  /** Width of one bucket of the live series. */
  bucketMs: number;
  /** Buckets kept (bucketMs × buckets is the span of the charts). */
  buckets: number;
  /** People whose recent commands, decisions and merges are kept. */
  people: number;
  /** Entries of each kind kept per person and per trigger. */
  perPerson: number;
  /** Latest commands and decisions kept across the engine. */
  recent: number;
}

export const DEFAULT_LIMITS: ActivityLimits = { bucketMs: 2_000, buckets: 180, people: 100_000, perPerson: 20, recent: 50 };

interface PersonActivity {
  commands: ConsoleCommand[];
  decisions: ConsoleDecision[];
  merges: ConsoleMerge[];
}

/** Keeps the newest `max` of a newest-first list after putting `item` in its place (by `at`). */
function insertNewest<T extends { at: number }>(list: T[], item: T, max: number): void {
  let i = 0;
  while (i < list.length && list[i]!.at > item.at) i++;
  list.splice(i, 0, item);
  if (list.length > max) list.length = max;
}

export function toCommand(c: EngagementCommand, status: string | null = null): ConsoleCommand {
  return { commandId: c.commandId, profileId: c.profileId, triggerId: c.triggerId, channel: c.channel, action: c.action, at: c.createdAt, expiresAt: c.expiresAt, status, trace: c.trace };
}

export function toDecision(d: EngagementDecision): ConsoleDecision {
  return { decisionId: d.decisionId, profileId: d.profileId, triggerId: d.triggerId, outcome: d.outcome, at: d.decidedAt, trace: d.trace };
}

export function liftRow(triggerId: string, counts: { treated: number; treatedConverted: number; control: number; controlConverted: number }): LiftRow {
  const estimate = liftEstimate(counts);
  const points = (v: number | null | undefined) => (v === null || v === undefined ? null : v * 100);
  return {
    triggerId,
    treated: counts.treated,
    treatedConverted: counts.treatedConverted,
    control: counts.control,
    controlConverted: counts.controlConverted,
    lift: points(estimate.lift),
    low: points(estimate.ci95AlwaysValid?.[0]),
    high: points(estimate.ci95AlwaysValid?.[1]),
    enoughData: estimate.enoughData,
  };
}

/** Counts per key over wall-clock buckets, oldest first. */
class Buckets {
  private readonly counts = new Map<string, number[]>();

  constructor(private readonly size: number) {}

  add(key: string, index: number, by = 1): void {
    let row = this.counts.get(key);
    if (!row) this.counts.set(key, (row = new Array<number>(this.size).fill(0)));
    row[index]! += by;
  }

  shift(by: number): void {
    for (const row of this.counts.values()) {
      row.splice(0, Math.min(by, row.length));
      while (row.length < this.size) row.push(0);
    }
  }

  /** One key's buckets from..to (exclusive), per second; zeros for a key never counted. */
  perSecond(key: string, bucketMs: number, from: number, to: number): number[] {
    return (this.counts.get(key) ?? new Array<number>(this.size).fill(0)).slice(from, to).map((n) => (n * 1000) / bucketMs);
  }

  /** Every key's, by key. */
  allPerSecond(bucketMs: number, from: number, to: number): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const key of [...this.counts.keys()].sort()) out[key] = this.perSecond(key, bucketMs, from, to);
    return out;
  }
}

export class Activity {
  private readonly limits: ActivityLimits;
  private readonly people = new Map<string, PersonActivity>();
  private readonly byTrigger = new Map<string, { commands: ConsoleCommand[]; decisions: ConsoleDecision[] }>();
  private readonly recentCommands: ConsoleCommand[] = [];
  private readonly recentDecisions: ConsoleDecision[] = [];
  private readonly members = new Map<string, Set<string>>();
  private readonly segmentChanges = new Map<string, SegmentActivity['changes']>();
  private readonly lift = new Map<string, TriggerLift>();
  private readonly totals = { commands: 0, decisions: 0, deadLetters: 0, merges: 0 };
  /** Start of the first bucket; undefined until the console has caught up with the topics (older records are history, not a rate). */
  private firstBucketAt: number | undefined;
  /** Start of the bucket the console went live in: the series start there (earlier buckets are not zero, they are unknown). */
  private liveFrom = 0;
  private readonly commandsByTrigger: Buckets;
  private readonly commandsByChannel: Buckets;
  private readonly suppressions: Buckets;
  /** Keys `in`, `processed`, `deadLetters`: differences between offset samples. */
  private readonly throughput: Buckets;
  private lastSample: OffsetSample | undefined;
  private lag: { topic: string; lag: number }[] = [];

  constructor(limits: Partial<ActivityLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    const size = this.limits.buckets;
    this.commandsByTrigger = new Buckets(size);
    this.commandsByChannel = new Buckets(size);
    this.suppressions = new Buckets(size);
    this.throughput = new Buckets(size);
  }

  /** From now on, records count in the series at the time they are read. */
  goLive(now: number): void {
    if (this.firstBucketAt !== undefined) return;
    this.firstBucketAt = now - (this.limits.buckets - 1) * this.limits.bucketMs;
    this.liveFrom = now;
  }

  get live(): boolean {
    return this.firstBucketAt !== undefined;
  }

  command(record: EngagementCommand, readAt: number): void {
    const person = this.person(record.profileId);
    if (person.commands.some((c) => c.commandId === record.commandId)) return;
    const command = toCommand(record);
    insertNewest(person.commands, command, this.limits.perPerson);
    insertNewest(this.trigger(record.triggerId).commands, command, this.limits.perPerson);
    insertNewest(this.recentCommands, command, this.limits.recent);
    this.totals.commands++;
    const bucket = this.bucket(readAt);
    if (bucket !== undefined) {
      this.commandsByTrigger.add(record.triggerId, bucket);
      this.commandsByChannel.add(record.channel, bucket);
    }
  }

  decision(record: EngagementDecision, readAt: number): void {
    const person = this.person(record.profileId);
    if (person.decisions.some((d) => d.decisionId === record.decisionId)) return;
    const decision = toDecision(record);
    insertNewest(person.decisions, decision, this.limits.perPerson);
    insertNewest(this.trigger(record.triggerId).decisions, decision, this.limits.perPerson);
    insertNewest(this.recentDecisions, decision, this.limits.recent);
    this.totals.decisions++;
    const bucket = this.bucket(readAt);
    if (bucket !== undefined) this.suppressions.add(record.outcome, bucket);
  }

  membership(record: Pick<SegmentMembership, 'profileId' | 'segment' | 'change' | 'at' | 'reason'>): void {
    let set = this.members.get(record.segment);
    if (!set) this.members.set(record.segment, (set = new Set()));
    if (record.change === 'enter') set.add(record.profileId);
    else set.delete(record.profileId);
    let changes = this.segmentChanges.get(record.segment);
    if (!changes) this.segmentChanges.set(record.segment, (changes = []));
    insertNewest(changes, { profileId: record.profileId, change: record.change, at: record.at, reason: record.reason }, this.limits.perPerson);
  }

  segmentActivity(name: string): SegmentActivity {
    return { name, size: this.members.get(name)?.size ?? 0, changes: this.segmentChanges.get(name) ?? [] };
  }

  /**
   * A merge is kept with its winner: the agent's page lists the profiles
   * that became this one. A split (a merge undone) takes it off again, so
   * the restored person's commands and decisions are no longer shown as
   * the survivor's.
   */
  audit(record: IdentityAudit): void {
    if ((record.kind !== 'merge' && record.kind !== 'split') || !record.profileId || !record.otherProfileId) return;
    const merges = this.person(record.profileId).merges;
    if (record.kind === 'split') {
      const undone = merges.findIndex((m) => m.mergedProfileId === record.otherProfileId);
      if (undone >= 0) merges.splice(undone, 1);
      return;
    }
    if (merges.some((m) => m.mergedProfileId === record.otherProfileId)) return;
    insertNewest(merges, { at: record.at, eventId: record.eventId, mergedProfileId: record.otherProfileId, detail: record.detail }, this.limits.perPerson);
    this.totals.merges++;
  }

  liftRecord(record: TriggerLift): void {
    const key = `${record.triggerId}|${record.partition}`;
    const kept = this.lift.get(key);
    if (!kept || record.asOf >= kept.asOf) this.lift.set(key, record);
  }

  /** Rates of the series come from the difference between two samples. */
  sample(sample: OffsetSample): void {
    const last = this.lastSample;
    this.lastSample = sample;
    this.lag = sample.lag;
    if (!last) return;
    this.totals.deadLetters += Math.max(0, sample.deadLetterEnd - last.deadLetterEnd);
    const bucket = this.bucket(sample.at);
    if (bucket === undefined) return;
    this.throughput.add('in', bucket, Math.max(0, sample.rawEnd - last.rawEnd));
    this.throughput.add('processed', bucket, Math.max(0, sample.rawCommitted - last.rawCommitted));
    this.throughput.add('deadLetters', bucket, Math.max(0, sample.deadLetterEnd - last.deadLetterEnd));
  }

  /**
   * What the console holds of a person and of the profiles merged into them
   * (a merged-away profile's commands and decisions are the person's too).
   */
  personActivity(profileId: string): PersonActivity {
    const ids = [profileId];
    const merges: ConsoleMerge[] = [];
    for (let i = 0; i < ids.length && i < 64; i++) {
      for (const merge of this.people.get(ids[i]!)?.merges ?? []) {
        if (ids.includes(merge.mergedProfileId)) continue;
        ids.push(merge.mergedProfileId);
        merges.push(merge);
      }
    }
    const all = ids.map((id) => this.people.get(id)).filter((p): p is PersonActivity => p !== undefined);
    const newestFirst = <T extends { at: number }>(lists: T[][]) => lists.flat().sort((a, b) => b.at - a.at);
    return { commands: newestFirst(all.map((p) => p.commands)), decisions: newestFirst(all.map((p) => p.decisions)), merges: newestFirst([merges]) };
  }

  triggerActivity(triggerId: string): { commands: ConsoleCommand[]; decisions: ConsoleDecision[]; lift: LiftRow | null } {
    const kept = this.byTrigger.get(triggerId);
    const counts = combineLift([...this.lift.values()]).get(triggerId);
    return { commands: kept?.commands ?? [], decisions: kept?.decisions ?? [], lift: counts ? liftRow(triggerId, counts) : null };
  }

  /**
   * The roll-up as of `now`. Series start with the bucket the console went
   * live in and end with the last complete one (the one still filling would
   * read low).
   */
  snapshot(now: number, readiness: LiveSnapshot['readiness']): LiveSnapshot {
    this.bucket(now);
    const { bucketMs } = this.limits;
    const first = this.firstBucketAt === undefined ? 0 : Math.max(0, Math.round((this.liveFrom - this.firstBucketAt) / bucketMs));
    const complete = this.limits.buckets - 1;
    const times = this.firstBucketAt === undefined ? [] : Array.from({ length: Math.max(0, complete - first) }, (_, i) => this.firstBucketAt! + (first + i) * bucketMs);
    const rate = (key: string) => (this.live ? this.throughput.perSecond(key, bucketMs, first, complete) : []);
    const rates = (buckets: Buckets) => (this.live ? buckets.allPerSecond(bucketMs, first, complete) : {});
    const series: LiveSeries = {
      times,
      touchpointsIn: rate('in'),
      touchpointsProcessed: rate('processed'),
      deadLetters: rate('deadLetters'),
      commandsByTrigger: rates(this.commandsByTrigger),
      commandsByChannel: rates(this.commandsByChannel),
      suppressionsByOutcome: rates(this.suppressions),
    };
    return {
      at: now,
      bucketMs,
      series,
      lag: this.lag,
      segments: [...this.members].map(([name, set]) => ({ name, size: set.size })).sort((a, b) => b.size - a.size || a.name.localeCompare(b.name)),
      lift: [...combineLift([...this.lift.values()])].map(([triggerId, counts]) => liftRow(triggerId, counts)).sort((a, b) => a.triggerId.localeCompare(b.triggerId)),
      totals: { ...this.totals },
      readiness,
      recent: { commands: [...this.recentCommands], decisions: [...this.recentDecisions] },
    };
  }

  /** The bucket of wall-clock time `at`, sliding the window forward when `at` is past its end; undefined before going live or for a time before the window. */
  private bucket(at: number): number | undefined {
    if (this.firstBucketAt === undefined) return undefined;
    const { bucketMs, buckets } = this.limits;
    const index = Math.floor((at - this.firstBucketAt) / bucketMs);
    if (index < 0) return undefined;
    if (index < buckets) return index;
    const by = index - buckets + 1;
    this.firstBucketAt += by * bucketMs;
    for (const b of [this.commandsByTrigger, this.commandsByChannel, this.suppressions, this.throughput]) b.shift(by);
    return buckets - 1;
  }

  /** A person's entry, most recently touched last; the least recently touched is forgotten past the limit. */
  private person(profileId: string): PersonActivity {
    let person = this.people.get(profileId);
    if (person) this.people.delete(profileId);
    else person = { commands: [], decisions: [], merges: [] };
    this.people.set(profileId, person);
    if (this.people.size > this.limits.people) this.people.delete(this.people.keys().next().value!);
    return person;
  }

  private trigger(triggerId: string): { commands: ConsoleCommand[]; decisions: ConsoleDecision[] } {
    let kept = this.byTrigger.get(triggerId);
    if (!kept) this.byTrigger.set(triggerId, (kept = { commands: [], decisions: [] }));
    return kept;
  }
}
