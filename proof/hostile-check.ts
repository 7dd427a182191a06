import type { IdentityAudit } from '../processors/identity/audit';
import { DLQ_HEADERS } from '../runtime/records';
import type { HostileKind, HostileRecord } from './hostile';

/** A record as it was produced to touchpoints.raw: hostile (with its expectation) or a valid touchpoint. */
export interface SentRecord {
  record?: HostileRecord;
  eventId?: string;
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
}

/** What the engine left downstream, wherever it was read from (the driver or the broker). */
export interface Observed {
  deadLetters: readonly { key: Buffer | null; value: Buffer | null; headers: Record<string, string> }[];
  /** Event ids of touchpoints on touchpoints.resolved, one per record. */
  resolved: readonly string[];
  /** Event ids of channels' touchpoints on identity.links (not the engine's own requests). */
  linked: readonly string[];
  audits: readonly IdentityAudit[];
}

export interface HostileAccount {
  /** Anything that is not as the contract says; empty when every record is accounted for. */
  problems: string[];
  /** Where the records of each kind ended up: 'dlq:<error kind>', 'processed', 'duplicate'. */
  outcomes: Record<string, Record<string, number>>;
  processed: number;
  deadLettered: number;
}

/**
 * Accounts for every record sent: dead-lettered once with its original bytes
 * and an expected error kind, or processed (reached identity.links or
 * touchpoints.resolved), or, for a repeated event id, processed again (the
 * profile task drops it); audits of rejected identifiers present, without
 * the value. records in = processed + dead-lettered, exactly.
 */
export function accountHostile(sent: readonly SentRecord[], observed: Observed, rawTopic: string): HostileAccount {
  const problems: string[] = [];
  const byPosition = new Map(sent.map((s, i) => [`${s.partition}/${s.offset}`, i]));
  const deadLettered = new Map<number, string>();
  for (const d of observed.deadLetters) {
    const i = byPosition.get(`${d.headers[DLQ_HEADERS.partition]}/${d.headers[DLQ_HEADERS.offset]}`);
    if (d.headers[DLQ_HEADERS.topic] !== rawTopic || i === undefined) {
      problems.push(`a dead letter that is no input: ${JSON.stringify(d.headers).slice(0, 300)}`);
      continue;
    }
    if (deadLettered.has(i)) problems.push(`input ${i} dead-lettered twice`);
    deadLettered.set(i, d.headers[DLQ_HEADERS.kind] ?? '(no kind header)');
    if (!sameBytes(d.value, sent[i]!.value) || !sameBytes(d.key, sent[i]!.key)) problems.push(`input ${i}: the dead letter does not carry its original bytes`);
  }
  const reached = new Map<string, number>();
  for (const id of [...observed.resolved, ...observed.linked]) reached.set(id, (reached.get(id) ?? 0) + 1);

  const outcomes: Record<string, Record<string, number>> = {};
  const note = (kind: string, where: string) => {
    const forKind = (outcomes[kind] ??= {});
    forKind[where] = (forKind[where] ?? 0) + 1;
  };
  const mismatches = new Map<string, Set<string>>();
  const mismatch = (kind: string, what: string) => mismatches.set(kind, (mismatches.get(kind) ?? new Set()).add(what));
  let processed = 0;
  sent.forEach((s, i) => {
    const kind: HostileKind | 'valid' = s.record?.kind ?? 'valid';
    const expected = s.record?.expect ?? { outcome: 'processed' as const };
    const dead = deadLettered.get(i);
    const arrived = s.eventId !== undefined && dead === undefined && (reached.get(s.eventId) ?? 0) > 0;
    if (dead !== undefined) note(kind, `dlq:${dead}`);
    else if (arrived) {
      processed++;
      note(kind, expected.outcome === 'duplicate' ? 'duplicate' : 'processed');
    } else note(kind, 'nowhere');
    if (expected.outcome === 'dead-letter') {
      if (dead === undefined) mismatch(kind, `expected a dead letter (${expected.errorKinds.join(' or ')}), got ${arrived ? 'processed' : 'nothing'}`);
      else if (!expected.errorKinds.includes(dead)) mismatch(kind, `expected a dead letter (${expected.errorKinds.join(' or ')}), got ${dead}`);
    } else if (dead !== undefined) mismatch(kind, `expected ${expected.outcome}, got a dead letter (${dead})`);
    else if (!arrived) mismatch(kind, `expected ${expected.outcome}, got nothing: neither dead-lettered nor processed`);
    else if (expected.outcome === 'duplicate' && reached.get(s.eventId!) !== 2) mismatch(kind, `a duplicate must reach the profiles twice (with its original), got ${reached.get(s.eventId!)}`);
  });
  for (const [kind, what] of mismatches) problems.push(`${kind}: ${[...what].join('; ')}`);
  const sentIds = new Set(sent.map((s) => s.eventId));
  const invented = [...reached.keys()].filter((id) => !sentIds.has(id));
  if (invented.length > 0) problems.push(`${invented.length} event ids downstream that were never sent, e.g. ${invented.slice(0, 3).join(', ')}`);
  if (processed + deadLettered.size !== sent.length) problems.push(`records in ${sent.length} != processed ${processed} + dead-lettered ${deadLettered.size}`);

  // Valid touchpoints may carry a junk identifier too (the simulator sends some): count the hostile ones.
  const hostileIds = new Set(sent.flatMap((s) => (s.record && s.eventId !== undefined ? [s.eventId] : [])));
  const rejected = observed.audits.filter((a) => a.kind === 'identifier-rejected' && hostileIds.has(a.eventId));
  const expecting = sent.flatMap((s) => (s.record?.expect.outcome === 'processed' && s.record.expect.audit ? [{ eventId: s.eventId!, ...s.record.expect.audit }] : []));
  const audited = new Map(rejected.map((a) => [a.eventId, a]));
  for (const e of expecting) {
    const audit = audited.get(e.eventId);
    if (!audit || audit.identifierType !== e.identifierType) problems.push(`${e.eventId}: no identifier-rejected audit for its ${e.identifierType}`);
    else if ([audit.detail, audit.profileId, audit.otherProfileId].some((f) => (f ?? '').includes(e.rejectedValue))) problems.push(`${e.eventId}: the audit carries the rejected value`);
  }
  if (rejected.length !== expecting.length) problems.push(`${rejected.length} identifier-rejected audits, ${expecting.length} expected`);
  return { problems, outcomes, processed, deadLettered: deadLettered.size };
}

function sameBytes(a: Buffer | null, b: Buffer | null): boolean {
  return a === null || b === null ? a === b : a.equals(b);
}
