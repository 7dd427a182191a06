import { liftEstimate, type LiftCounts, type LiftEstimate, type TriggerLift } from '../processors/outcomes/lift';
import { combineLift } from '../processors/outcomes/merge';

/**
 * What the engine's output topics say, counted as they are read. The demo's
 * summary is built from this (and from the engine's committed offsets),
 * never from what the simulator meant to happen: if the engine dropped or
 * doubled something, the summary shows it.
 */

/** The fields of schemas/EngagementCommand.avsc the summary uses. */
export interface CommandRecord {
  commandId: string;
  profileId: string;
  triggerId: string;
  channel: string;
  action: string;
  createdAt: number;
  expiresAt: number;
  trace: { causeEventIds: string[] };
}

/** schemas/EngagementDecision.avsc */
export interface DecisionRecord {
  decisionId: string;
  profileId: string;
  triggerId: string;
  outcome: string;
  decidedAt: number;
  trace: { causeEventIds: string[] };
}

/** schemas/SegmentMembership.avsc */
export interface MembershipRecord {
  profileId: string;
  segment: string;
  change: string;
  at: number;
  reason: string;
}

/** schemas/ProfileView.avsc (the part counted). */
export interface ViewRecord {
  profileId: string;
  known: boolean;
}

/** schemas/IdentityAudit.avsc (the part counted). */
export interface AuditRecord {
  kind: string;
  profileId: string | null;
  otherProfileId: string | null;
}

export interface TriggerSummary {
  triggerId: string;
  commands: number;
  byChannel: Record<string, number>;
  decisions: Record<string, number>;
}

export interface LiftSummary extends LiftCounts {
  triggerId: string;
  estimate: LiftEstimate;
}

export interface TallySnapshot {
  commands: number;
  /** A command id seen again (an at-least-once redelivery); not counted twice above. */
  duplicateCommands: number;
  commandsByChannel: Record<string, number>;
  decisions: number;
  decisionsByOutcome: Record<string, number>;
  triggers: TriggerSummary[];
  profiles: { total: number; known: number; anonymous: number };
  segments: Record<string, number>;
  audit: Record<string, number>;
  lift: LiftSummary[];
}

const bump = (counts: Map<string, number>, key: string, by = 1): void => {
  counts.set(key, (counts.get(key) ?? 0) + by);
};
const sorted = (counts: Map<string, number>): Record<string, number> =>
  Object.fromEntries([...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));

export class Tally {
  private readonly commandIds = new Set<string>();
  private duplicateCommands = 0;
  private readonly decisionIds = new Set<string>();
  private readonly commandsByChannel = new Map<string, number>();
  private readonly decisionsByOutcome = new Map<string, number>();
  private readonly triggers = new Map<string, { commands: number; byChannel: Map<string, number>; decisions: Map<string, number> }>();
  private readonly views = new Map<string, boolean>();
  private known = 0;
  private readonly members = new Map<string, Set<string>>();
  private readonly audit = new Map<string, number>();
  private readonly lift: TriggerLift[] = [];
  /** The newest command read (the demo picks its person for the profile API example). */
  lastCommand: CommandRecord | null = null;

  command(c: CommandRecord): void {
    if (this.commandIds.has(c.commandId)) {
      this.duplicateCommands++;
      return;
    }
    this.commandIds.add(c.commandId);
    bump(this.commandsByChannel, c.channel);
    const t = this.trigger(c.triggerId);
    t.commands++;
    bump(t.byChannel, c.channel);
    this.lastCommand = c;
  }

  decision(d: DecisionRecord): void {
    if (this.decisionIds.has(d.decisionId)) return;
    this.decisionIds.add(d.decisionId);
    bump(this.decisionsByOutcome, d.outcome);
    bump(this.trigger(d.triggerId).decisions, d.outcome);
  }

  membership(m: MembershipRecord): void {
    let set = this.members.get(m.segment);
    if (!set) this.members.set(m.segment, (set = new Set()));
    if (m.change === 'enter') set.add(m.profileId);
    else set.delete(m.profileId);
  }

  /** A view, or its tombstone (null: the profile was merged away or erased). */
  view(profileId: string, view: ViewRecord | null): void {
    const before = this.views.get(profileId);
    if (before === true) this.known--;
    if (view === null) {
      this.views.delete(profileId);
      return;
    }
    this.views.set(profileId, view.known);
    if (view.known) this.known++;
  }

  auditEvent(a: AuditRecord): void {
    bump(this.audit, a.kind);
  }

  liftRecord(l: TriggerLift): void {
    this.lift.push(l);
    // combineLift keeps the latest per (trigger, partition); keep the list short.
    if (this.lift.length > 10_000) this.lift.splice(0, this.lift.length, ...this.latestLift());
  }

  snapshot(): TallySnapshot {
    const triggers = [...this.triggers]
      .map(([triggerId, t]) => ({ triggerId, commands: t.commands, byChannel: sorted(t.byChannel), decisions: sorted(t.decisions) }))
      .sort((a, b) => b.commands - a.commands || a.triggerId.localeCompare(b.triggerId));
    const lift = [...combineLift(this.lift)]
      .map(([triggerId, c]) => {
        const counts = { treated: c.treated, treatedConverted: c.treatedConverted, control: c.control, controlConverted: c.controlConverted };
        return { triggerId, ...counts, estimate: liftEstimate(counts) };
      })
      .sort((a, b) => a.triggerId.localeCompare(b.triggerId));
    return {
      commands: this.commandIds.size,
      duplicateCommands: this.duplicateCommands,
      commandsByChannel: sorted(this.commandsByChannel),
      decisions: this.decisionIds.size,
      decisionsByOutcome: sorted(this.decisionsByOutcome),
      triggers,
      profiles: { total: this.views.size, known: this.known, anonymous: this.views.size - this.known },
      segments: sorted(new Map([...this.members].map(([segment, set]) => [segment, set.size]))),
      audit: sorted(this.audit),
      lift,
    };
  }

  private latestLift(): TriggerLift[] {
    const latest = new Map<string, TriggerLift>();
    for (const r of this.lift) {
      const key = `${r.triggerId}|${r.partition}`;
      const kept = latest.get(key);
      if (kept === undefined || r.asOf >= kept.asOf) latest.set(key, r);
    }
    return [...latest.values()];
  }

  private trigger(id: string) {
    let t = this.triggers.get(id);
    if (!t) this.triggers.set(id, (t = { commands: 0, byChannel: new Map(), decisions: new Map() }));
    return t;
  }
}
