import { ownedCopy, type DecisionTrace, type EngagementCommand, type EngagementDecision, type OutputDecoder } from './records';

/**
 * Baseline versus variant, firing by firing. A firing of a trigger for a
 * person has one deterministic id (trigger, profile, causing event): the
 * command's id if one was sent, the decision's id (the id the command
 * would have had) if it was suppressed. So the two runs are matched by id,
 * online: a firing waits until the other run produced the same id, and
 * matched pairs that agree are forgotten at once. Memory is the
 * differences plus the firings in flight.
 */

export type DiffKind = 'lost' | 'gained' | 'changed' | 'reasonChanged';

/** One run's side of a firing. */
export interface FiringSide {
  /** 'sent', or the suppression reason (engagement.decisions outcome). */
  outcome: string;
  profileId: string;
  triggerId: string;
  /** For sent commands. */
  channel: string | null;
  action: string | null;
  contentRef: string | null;
  /** createdAt (command) or decidedAt (decision). */
  at: number;
  trace: DecisionTrace;
}

export interface DiffExample {
  kind: DiffKind;
  id: string;
  profileId: string;
  triggerId: string;
  /** null: the trigger did not fire for this cause in that run. */
  baseline: FiringSide | null;
  variant: FiringSide | null;
}

export interface TriggerDiff {
  triggerId: string;
  /** Sent in the baseline, not in the variant (suppressed, or never fired). */
  lost: number;
  /** Sent in the variant, not in the baseline. */
  gained: number;
  /** Sent in both, to another channel, action or content. */
  changed: number;
  /** Suppressed (or not fired) in both, for different reasons. */
  reasonChanged: number;
  /** Suppressed in the variant: why, counted (for lost commands). */
  lostBecause: Record<string, number>;
}

export interface ProfileDiff {
  profileId: string;
  lost: number;
  gained: number;
}

export interface DiffResult {
  baseline: string;
  variant: string;
  totals: { lost: number; gained: number; changed: number; reasonChanged: number; profilesLosing: number; profilesGaining: number };
  byTrigger: TriggerDiff[];
  /** Profiles with a lost or gained command, most affected first (at most `profileLimit`). */
  profiles: ProfileDiff[];
  profilesTruncated: boolean;
  examples: DiffExample[];
}

/** A side held until its counterpart is known: the trace is decoded only for examples. */
interface PendingSide extends Omit<FiringSide, 'trace'> {
  kind: 'command' | 'decision';
  /** The record's bytes, decoded again only if it becomes an example. */
  bytes: Buffer;
}

const NOT_FIRED = 'not_fired';

export class DiffTracker {
  private readonly pending = new Map<string, [PendingSide | undefined, PendingSide | undefined]>();
  private readonly triggers = new Map<string, TriggerDiff>();
  private readonly profiles = new Map<string, ProfileDiff>();
  private readonly examples = new Map<string, { kind: DiffKind; id: string; sides: [PendingSide | undefined, PendingSide | undefined] }[]>();

  constructor(
    readonly baselineName: string,
    readonly variantName: string,
    private readonly examplesPerKind = 3,
  ) {}

  command(side: 0 | 1, command: EngagementCommand, bytes: Buffer): void {
    this.arrive(command.commandId, side, {
      outcome: 'sent',
      profileId: command.profileId,
      triggerId: command.triggerId,
      channel: command.channel,
      action: command.action,
      contentRef: command.contentRef,
      at: command.createdAt,
      kind: 'command',
      bytes: ownedCopy(bytes),
    });
  }

  decision(side: 0 | 1, decision: EngagementDecision, bytes: Buffer): void {
    this.arrive(decision.decisionId, side, {
      outcome: decision.outcome,
      profileId: decision.profileId,
      triggerId: decision.triggerId,
      channel: null,
      action: null,
      contentRef: null,
      at: decision.decidedAt,
      kind: 'decision',
      bytes: ownedCopy(bytes),
    });
  }

  /** Firings seen in one run only so far. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Classifies what is left unmatched (fired in one run only) and returns the comparison. */
  result(decoder: OutputDecoder, profileLimit = 1000): DiffResult {
    for (const [id, sides] of this.pending) this.classify(id, sides);
    this.pending.clear();
    const byTrigger = [...this.triggers.values()].sort((a, b) => a.triggerId.localeCompare(b.triggerId));
    const totals = { lost: 0, gained: 0, changed: 0, reasonChanged: 0, profilesLosing: 0, profilesGaining: 0 };
    for (const t of byTrigger) {
      totals.lost += t.lost;
      totals.gained += t.gained;
      totals.changed += t.changed;
      totals.reasonChanged += t.reasonChanged;
    }
    const profiles = [...this.profiles.values()];
    totals.profilesLosing = profiles.filter((p) => p.lost > 0).length;
    totals.profilesGaining = profiles.filter((p) => p.gained > 0).length;
    profiles.sort((a, b) => b.lost + b.gained - (a.lost + a.gained) || a.profileId.localeCompare(b.profileId));
    const examples: DiffExample[] = [];
    const order: DiffKind[] = ['lost', 'gained', 'changed', 'reasonChanged'];
    const keys = [...this.examples.keys()].sort((a, b) => {
      const [ta, ka] = a.split('|') as [string, DiffKind];
      const [tb, kb] = b.split('|') as [string, DiffKind];
      return order.indexOf(ka) - order.indexOf(kb) || ta.localeCompare(tb);
    });
    for (const key of keys) {
      for (const e of this.examples.get(key)!) {
        const [b, v] = e.sides;
        const any = (b ?? v)!;
        examples.push({ kind: e.kind, id: e.id, profileId: any.profileId, triggerId: any.triggerId, baseline: expand(b, decoder), variant: expand(v, decoder) });
      }
    }
    return {
      baseline: this.baselineName,
      variant: this.variantName,
      totals,
      byTrigger,
      profiles: profiles.slice(0, profileLimit),
      profilesTruncated: profiles.length > profileLimit,
      examples,
    };
  }

  private arrive(id: string, side: 0 | 1, value: PendingSide): void {
    let sides = this.pending.get(id);
    if (!sides) {
      sides = [undefined, undefined];
      this.pending.set(id, sides);
    }
    sides[side] = value;
    if (sides[0] && sides[1]) {
      this.pending.delete(id);
      this.classify(id, sides);
    }
  }

  private classify(id: string, sides: [PendingSide | undefined, PendingSide | undefined]): void {
    const [b, v] = sides;
    const bOutcome = b?.outcome ?? NOT_FIRED;
    const vOutcome = v?.outcome ?? NOT_FIRED;
    let kind: DiffKind;
    if (bOutcome === 'sent' && vOutcome === 'sent') {
      if (b!.channel === v!.channel && b!.action === v!.action && b!.contentRef === v!.contentRef) return;
      kind = 'changed';
    } else if (bOutcome === 'sent') kind = 'lost';
    else if (vOutcome === 'sent') kind = 'gained';
    else if (bOutcome === vOutcome) return;
    else kind = 'reasonChanged';

    const any = (b ?? v)!;
    let t = this.triggers.get(any.triggerId);
    if (!t) this.triggers.set(any.triggerId, (t = { triggerId: any.triggerId, lost: 0, gained: 0, changed: 0, reasonChanged: 0, lostBecause: {} }));
    t[kind]++;
    if (kind === 'lost') t.lostBecause[vOutcome] = (t.lostBecause[vOutcome] ?? 0) + 1;
    if (kind === 'lost' || kind === 'gained') {
      let p = this.profiles.get(any.profileId);
      if (!p) this.profiles.set(any.profileId, (p = { profileId: any.profileId, lost: 0, gained: 0 }));
      p[kind]++;
    }
    const key = `${any.triggerId}|${kind}`;
    let list = this.examples.get(key);
    if (!list) this.examples.set(key, (list = []));
    if (list.length < this.examplesPerKind) list.push({ kind, id, sides });
  }
}

function expand(side: PendingSide | undefined, decoder: OutputDecoder): FiringSide | null {
  if (!side) return null;
  const trace = side.kind === 'command' ? decoder.command(side.bytes).trace : decoder.decision(side.bytes).trace;
  return {
    outcome: side.outcome,
    profileId: side.profileId,
    triggerId: side.triggerId,
    channel: side.channel,
    action: side.action,
    contentRef: side.contentRef,
    at: side.at,
    trace,
  };
}
