import { OutputDecoder } from '../replay/records';
import type { ProfileView } from '../processors/profile/view';
import { profileEventFromWire, type ProfileEventWire } from '../processors/model/profile-event';
import { SchemaCatalog } from '../runtime/serde/schema-catalog';
import { SCHEMAS_DIR, topicNames } from '../topology';

/** A record as read back from a topic or as produced on the driver: enough to compare both. */
export interface TopicRecord {
  topic: string;
  partition: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/**
 * What the product must give for an input, reduced to what a user relies
 * on: which commands and decisions were made (by their deterministic ids),
 * who is in which segment at the end, and the last view of each profile.
 */
export interface ProductOutputs {
  commandIds: string[];
  decisionIds: string[];
  /** Decisions without a command, by the reason nothing was sent (stale, no_consent, held_out...). */
  decisionOutcomes: Record<string, number>;
  /** Final members per segment, from the enter/exit events in order. */
  memberships: Map<string, Set<string>>;
  /** Final view per profile id (Avro body, hex), or null after a tombstone. */
  views: Map<string, string | null>;
  /** Who is who: the hashed identifiers of each profile's final view, whatever the profile's id. */
  clusters: string[];
  /** Each command's and decision's profile and cause events, by id. */
  firings: Map<string, { profileId: string; causes: string[] }>;
  /** Event ids of touchpoints a profile task re-routed to a merge's winner (on touchpoints.resolved more than once). */
  rerouted: Set<string>;
  /** Profiles a merge instruction names, as loser or winner. */
  merged: Set<string>;
}

const HEADER_BYTES = 5;
const decoder = new OutputDecoder();
const catalog = SchemaCatalog.load(SCHEMAS_DIR);
const viewType = catalog.type('ProfileView');
const profileEventType = catalog.type('ProfileEvent');

export function productOutputs(records: Iterable<TopicRecord>, prefix = ''): ProductOutputs {
  const topic = topicNames(prefix);
  const out: ProductOutputs = { commandIds: [], decisionIds: [], decisionOutcomes: {}, memberships: new Map(), views: new Map(), clusters: [], firings: new Map(), rerouted: new Set(), merged: new Set() };
  const resolvedTouchpoints = new Set<string>();
  for (const r of records) {
    if (r.topic === topic.commands && r.value) {
      const command = decoder.command(r.value);
      out.commandIds.push(command.commandId);
      out.firings.set(command.commandId, { profileId: command.profileId, causes: command.trace.causeEventIds });
    } else if (r.topic === topic.decisions && r.value) {
      const decision = decoder.decision(r.value);
      out.decisionIds.push(decision.decisionId);
      out.decisionOutcomes[decision.outcome] = (out.decisionOutcomes[decision.outcome] ?? 0) + 1;
      out.firings.set(decision.decisionId, { profileId: decision.profileId, causes: decision.trace.causeEventIds });
    } else if (r.topic === topic.resolved && r.value) {
      const event = profileEventFromWire(profileEventType.fromBuffer(r.value.subarray(HEADER_BYTES)) as ProfileEventWire);
      if (event.body.kind === 'touchpoint') {
        const id = event.body.touchpoint.eventId;
        if (resolvedTouchpoints.has(id)) out.rerouted.add(id);
        resolvedTouchpoints.add(id);
      } else if (event.body.kind === 'merge') {
        out.merged.add(event.body.loser);
        out.merged.add(event.body.winner);
      }
    }
    else if (r.topic === topic.membership && r.value) {
      const m = decoder.membership(r.value);
      const members = out.memberships.get(m.segment) ?? new Set<string>();
      out.memberships.set(m.segment, members);
      if (m.change === 'enter') members.add(m.profileId);
      else members.delete(m.profileId);
    } else if (r.topic === topic.views && r.key) {
      // Schema ids differ between registries: compare the Avro body only.
      out.views.set(r.key.toString('utf8'), r.value ? r.value.subarray(HEADER_BYTES).toString('hex') : null);
    }
  }
  for (const body of out.views.values()) {
    if (body === null) continue;
    const view = viewType.fromBuffer(Buffer.from(body, 'hex')) as ProfileView;
    out.clusters.push(Object.values(view.identifiers).flat().sort().join(' '));
  }
  return out;
}

/** One kind of output, golden against live: what is missing, extra or repeated. */
export interface OutputDiff {
  what: string;
  golden: number;
  live: number;
  missing: string[];
  extra: string[];
  /** Ids the live topic holds more than once (exactly-once forbids it). */
  repeated: string[];
}

export function compareOutputs(golden: ProductOutputs, live: ProductOutputs): OutputDiff[] {
  const ids = (what: string, g: string[], l: string[]): OutputDiff => {
    const gs = new Set(g);
    const ls = new Set(l);
    return {
      what,
      golden: gs.size,
      live: ls.size,
      missing: [...gs].filter((id) => !ls.has(id)),
      extra: [...ls].filter((id) => !gs.has(id)),
      repeated: repeatedIn(l),
    };
  };
  const flatten = (m: Map<string, Set<string>>) => [...m].flatMap(([segment, members]) => [...members].map((p) => `${segment}/${p}`));
  const viewEntries = (m: Map<string, string | null>) => [...m].filter(([, v]) => v !== null).map(([k, v]) => `${k}=${v}`);
  return [
    ids('command ids', golden.commandIds, live.commandIds),
    ids('decision ids', golden.decisionIds, live.decisionIds),
    ids('final segment memberships', flatten(golden.memberships), flatten(live.memberships)),
    { ...ids('final profile views', viewEntries(golden.views), viewEntries(live.views)), repeated: [] },
    ids('identity clusters (identifiers of one final view)', golden.clusters, live.clusters),
  ];
}

/**
 * Why the command and decision ids of two runs differ, id by id: a cause
 * event that either run re-routed from a merged-away profile to the winner
 * (the identity graph's lag, runtime/README.md), else a profile that either
 * run merged, else neither.
 */
export function attributeDifferences(a: ProductOutputs, b: ProductOutputs): { rerouted: number; merged: number; neither: number; examples: string[] } {
  const ids = (o: ProductOutputs) => new Set([...o.commandIds, ...o.decisionIds]);
  const inA = ids(a);
  const inB = ids(b);
  const differing = [...[...inA].filter((id) => !inB.has(id)), ...[...inB].filter((id) => !inA.has(id))];
  const counts = { rerouted: 0, merged: 0, neither: 0, examples: [] as string[] };
  for (const id of differing) {
    const firing = a.firings.get(id) ?? b.firings.get(id)!;
    if (firing.causes.some((c) => a.rerouted.has(c) || b.rerouted.has(c))) counts.rerouted++;
    else if (a.merged.has(firing.profileId) || b.merged.has(firing.profileId)) counts.merged++;
    else {
      counts.neither++;
      counts.examples.push(`${id} (${firing.profileId}: ${firing.causes.join(', ')})`);
    }
  }
  return counts;
}

export function repeatedIn(ids: readonly string[]): string[] {
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const id of ids) (seen.has(id) ? repeated : seen).add(id);
  return [...repeated];
}

/** A multiset of records, so two record streams can be compared whatever their interleaving across writers. */
export function recordMultiset(records: Iterable<TopicRecord>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of records) {
    const headers = Object.keys(r.headers)
      .sort()
      .map((h) => `${h}=${r.headers[h]}`)
      .join('&');
    const id = `${r.topic}/${r.partition}/${r.key?.toString('hex') ?? '-'}/${r.value?.toString('hex') ?? '-'}/${headers}`;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/** Entries of `a` not matched one for one in `b`. */
export function multisetMinus(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): string[] {
  const out: string[] = [];
  for (const [id, n] of a) for (let i = b.get(id) ?? 0; i < n; i++) out.push(id);
  return out;
}
