import { parseDuration } from '../../config/duration';
import { outputs, type KeyValueStore, type Processor, type ProcessorContext, type StreamRecord, type Timer } from '../../runtime/processor';
import { DIRECTORY_STORE, IDENTIFIERS_STORE, PENDING_CORRECTIONS_STORE } from '../stores';
import type { ProfileEvent } from '../model/profile-event';
import { EVENT, type Identifier, type Touchpoint } from '../model/touchpoint';
import type { IdentityAudit } from './audit';
import type { IdentityConfig } from './config';
import { profileIdFor } from './identifiers';

/** What identity resolution knows about one canonical profile. */
export interface DirectoryEntry {
  /** Event time the profile entered the graph; the older profile wins a merge. */
  firstSeen: number;
  /** Identifier keys by type. */
  identifiers: Record<string, string[]>;
  /** Profiles merged into this one, so that an erasure also reaches what they left behind. */
  absorbed: string[];
  /** Merges into this profile that an identity_correction can still undo (identity.yaml `reversibleMerges`), oldest first. */
  undoable?: UndoableMerge[];
}

/** A merge into a profile that can be undone: what the loser was, to give it back. */
export interface UndoableMerge {
  loser: string;
  /** Event time of the linking touchpoint. */
  at: number;
  causeEventId: string;
  /** The loser's entry at the merge (its own undoable merges are not kept: a split gives back the loser as it was). */
  loserEntry: Omit<DirectoryEntry, 'undoable'>;
}

interface Candidate {
  id: string;
  entry: DirectoryEntry;
  /** The entry is the directory's as stored (not new, not changed by a merge of this event). */
  stored: boolean;
}

/**
 * The single writer of the identity graph (the link log has one
 * partition, so every link is decided in one order and concurrent merges
 * cannot race). Each trusted event that carries several identifiers links
 * them: identifiers of different profiles merge those profiles, older
 * profile first (ties by id), unless a guard refuses: two different values
 * of a unique type (two known customers), or more values of a type than
 * the limit (a shared device). A refused identifier is dropped for linking;
 * the touchpoint still counts for the profile of its strongest identifier.
 */
export const LINK_OUTPUTS = outputs('to-resolved', 'to-audit');
type Out = (typeof LINK_OUTPUTS)[number];

export class LinkProcessor implements Processor<string, Touchpoint, Out> {
  private readonly undoableChannels: ReadonlySet<string>;
  /** Identifiers of the losers of the undoable merges the event being handled made (a correction may be waiting for one). */
  private undone: string[][] = [];
  /** How long a merge can be undone, ms; null: never. */
  private readonly horizon: number | null;

  constructor(private readonly config: IdentityConfig) {
    this.undoableChannels = new Set(config.reversibleMerges?.linkChannels ?? []);
    this.horizon = config.reversibleMerges ? parseDuration(config.reversibleMerges.horizon) : null;
  }

  /**
   * The identifiers, and the directory entries of the profiles they would
   * start: most link events bring an identifier never seen, whose profile
   * is that one. (A known identifier's profile is read when it is known.)
   */
  *prefetch(record: StreamRecord<string, Touchpoint>): Iterable<[string, string]> {
    for (const id of record.value.identifiers) {
      yield [IDENTIFIERS_STORE, id.value];
      yield [DIRECTORY_STORE, profileIdFor(id.value)];
    }
  }

  async process(record: StreamRecord<string, Touchpoint>, ctx: ProcessorContext<Out>): Promise<void> {
    const touchpoint = record.value;
    if (touchpoint.eventType === EVENT.erasureRequested) return this.erase(touchpoint, ctx);
    if (touchpoint.eventType === EVENT.retentionExpired) return this.release(touchpoint, ctx);
    if (touchpoint.eventType === EVENT.retentionCancelled) return this.relink(touchpoint, ctx);
    if (touchpoint.eventType === EVENT.identityCorrection) return this.correct(touchpoint, ctx);
    if (touchpoint.eventType === EVENT.splitIdentifiers) return this.handOver(touchpoint, ctx);
    const identifiers = ctx.store<string>(IDENTIFIERS_STORE);
    const directory = ctx.store<DirectoryEntry>(DIRECTORY_STORE);
    const at = touchpoint.occurredAt;

    this.undone.length = 0;
    let winner = await this.profileOf(touchpoint.identifiers[0]!, identifiers, directory, at);
    for (const id of touchpoint.identifiers.slice(1)) {
      const other = await this.profileOf(id, identifiers, directory, at);
      if (other.id === winner.id) continue;
      const refusal = this.refusal(winner.entry, other.entry);
      if (refusal) {
        ctx.count(`guard-${refusal.kind}`);
        this.audit(ctx, { kind: refusal.kind, at, eventId: touchpoint.eventId, profileId: winner.id, otherProfileId: other.id, identifierType: id.type, detail: refusal.detail });
        continue;
      }
      winner = this.merge(winner, other, touchpoint, ctx);
    }
    // A returning person's event changes nothing here: no changelog record, no graph update on every instance.
    if (!winner.stored) {
      directory.put(winner.id, winner.entry);
      for (const keys of Object.values(winner.entry.identifiers)) for (const key of keys) identifiers.put(key, winner.id);
    }
    const event: ProfileEvent = { profileId: winner.id, at, body: { kind: 'touchpoint', touchpoint } };
    ctx.forward('to-resolved', winner.id, event);
    for (const keys of this.undone) await this.applyPending(keys, ctx);
  }

  /**
   * A correction that came before the merge it corrects (they reach the
   * link log from different ingest tasks, so their order there is not
   * their event-time order): the merge just made brought in the identifier
   * it names, so it applies now, after the merge.
   */
  private async applyPending(keys: readonly string[], ctx: ProcessorContext<Out>): Promise<void> {
    const pending = ctx.store<Touchpoint>(PENDING_CORRECTIONS_STORE);
    for (const key of keys) {
      const correction = await pending.get(key);
      if (correction === undefined) continue;
      pending.delete(key);
      ctx.cancel(key);
      await this.correct(correction, ctx);
    }
  }

  /** A correction waited the whole horizon and no merge it could undo came: refused for good. */
  async onTimer(timer: Timer, ctx: ProcessorContext<Out>): Promise<void> {
    const pending = ctx.store<Touchpoint>(PENDING_CORRECTIONS_STORE);
    const correction = await pending.get(timer.key);
    if (correction === undefined) return;
    pending.delete(timer.key);
    ctx.count('correction-refused');
    this.audit(ctx, {
      kind: 'correction-refused',
      at: timer.at,
      eventId: correction.eventId,
      profileId: null,
      otherProfileId: null,
      identifierType: correction.identifiers[0]!.type,
      detail: `no merge that can be undone brought in the ${correction.identifiers[0]!.type} it names within reversibleMerges.horizon (${this.config.reversibleMerges?.horizon ?? 'not set'})`,
    });
  }

  /** The profile an identifier belongs to now, with its directory entry (new ones start at `at`). */
  private async profileOf(
    id: Identifier,
    identifiers: KeyValueStore<string>,
    directory: KeyValueStore<DirectoryEntry>,
    at: number,
  ): Promise<Candidate> {
    const known = await identifiers.get(id.value);
    const profile = known ?? profileIdFor(id.value);
    const entry = await directory.get(profile);
    if (entry && known !== undefined) return { id: profile, entry, stored: true };
    return { id: profile, entry: entry ?? { firstSeen: at, identifiers: { [id.type]: [id.value] }, absorbed: [] }, stored: false };
  }

  private refusal(a: DirectoryEntry, b: DirectoryEntry): { kind: 'conflict' | 'limit'; detail: string } | undefined {
    for (const type of this.config.uniqueTypes) {
      const mine = a.identifiers[type] ?? [];
      const theirs = b.identifiers[type] ?? [];
      if (mine.length > 0 && theirs.length > 0 && mine[0] !== theirs[0]) {
        return { kind: 'conflict', detail: `both profiles hold a different ${type}: two known people never merge` };
      }
    }
    for (const [type, limit] of Object.entries(this.config.limits)) {
      const union = new Set([...(a.identifiers[type] ?? []), ...(b.identifiers[type] ?? [])]);
      if (union.size > limit) return { kind: 'limit', detail: `together they would hold ${union.size} ${type} values, more than the limit of ${limit}` };
    }
    return undefined;
  }

  private merge(a: Candidate, b: Candidate, touchpoint: Touchpoint, ctx: ProcessorContext<Out>): Candidate {
    const [winner, loser] = older(a, b) ? [a, b] : [b, a];
    const at = touchpoint.occurredAt;
    const undoable = this.horizon !== null && this.undoableChannels.has(touchpoint.channel);
    const identifiers: Record<string, string[]> = {};
    for (const entry of [winner.entry, loser.entry]) {
      for (const [type, keys] of Object.entries(entry.identifiers)) identifiers[type] = [...new Set([...(identifiers[type] ?? []), ...keys])];
    }
    const merged: Candidate = {
      id: winner.id,
      stored: false,
      entry: {
        firstSeen: Math.min(winner.entry.firstSeen, loser.entry.firstSeen),
        identifiers,
        absorbed: [...new Set([...winner.entry.absorbed, ...loser.entry.absorbed, loser.id])],
        undoable: this.stillUndoable(winner.entry.undoable, at),
      },
    };
    if (undoable) {
      const { undoable: _nested, ...loserEntry } = loser.entry;
      (merged.entry.undoable ??= []).push({ loser: loser.id, at, causeEventId: touchpoint.eventId, loserEntry });
      this.undone.push(Object.values(loserEntry.identifiers).flat());
    }
    if (merged.entry.undoable?.length === 0) delete merged.entry.undoable;
    ctx.store<DirectoryEntry>(DIRECTORY_STORE).delete(loser.id);
    // Re-point now, not at the end of the event: a later identifier of the same event that belonged
    // to the loser must find the winner, or it would merge the two again, the other way round.
    const identifierStore = ctx.store<string>(IDENTIFIERS_STORE);
    for (const keys of Object.values(loser.entry.identifiers)) for (const key of keys) identifierStore.put(key, winner.id);
    const instruction: ProfileEvent = {
      profileId: loser.id,
      at: touchpoint.occurredAt,
      body: { kind: 'merge', loser: loser.id, winner: winner.id, causeEventId: touchpoint.eventId },
    };
    ctx.forward('to-resolved', loser.id, instruction);
    // Ahead of the linking touchpoint on the winner's partition: its profile keeps what a split needs from here on.
    if (undoable) ctx.forward('to-resolved', winner.id, { ...instruction, profileId: winner.id });
    ctx.count('merge');
    this.audit(ctx, {
      kind: 'merge',
      at: touchpoint.occurredAt,
      eventId: touchpoint.eventId,
      profileId: winner.id,
      otherProfileId: loser.id,
      identifierType: null,
      detail: `${touchpoint.eventType} on ${touchpoint.channel} linked them; the older profile (first seen ${new Date(winner.entry.firstSeen).toISOString()}) wins`,
    });
    return merged;
  }

  /** The undoable merges of an entry that are still inside the horizon at `at`. */
  private stillUndoable(records: UndoableMerge[] | undefined, at: number): UndoableMerge[] | undefined {
    if (records === undefined || this.horizon === null) return undefined;
    const horizon = this.horizon;
    return records.filter((r) => at - r.at <= horizon);
  }

  /**
   * An identity_correction: the identifier it names is not this person's.
   * The merge that brought it in is undone: the loser's identifiers point
   * to the loser again, both directory entries are as they would be
   * without that merge (identifiers linked since stay with the survivor
   * until its profile task hands over those the loser's own touchpoints
   * brought, `handOver`), and the survivor's profile is told to split.
   */
  private async correct(correction: Touchpoint, ctx: ProcessorContext<Out>): Promise<void> {
    const named = correction.identifiers[0]!;
    const identifiers = ctx.store<string>(IDENTIFIERS_STORE);
    const directory = ctx.store<DirectoryEntry>(DIRECTORY_STORE);
    const owner = await identifiers.get(named.value);
    const entry = owner === undefined ? undefined : await directory.get(owner);
    const records = this.stillUndoable(entry?.undoable, correction.occurredAt) ?? [];
    // a correction undoes a merge made before it (in event time), never one made after it
    const record = [...records].reverse().find((r) => r.at <= correction.occurredAt && Object.values(r.loserEntry.identifiers).some((keys) => keys.includes(named.value)));
    if (owner === undefined || entry === undefined || record === undefined) {
      if (this.horizon === null) {
        ctx.count('correction-refused');
        const detail = 'identity.yaml has no reversibleMerges: no merge can be undone';
        return this.audit(ctx, { kind: 'correction-refused', at: correction.occurredAt, eventId: correction.eventId, profileId: owner ?? null, otherProfileId: null, identifierType: named.type, detail });
      }
      // The merge it names may still be on its way: it waits for it until the horizon has passed.
      ctx.store<Touchpoint>(PENDING_CORRECTIONS_STORE).put(named.value, correction);
      ctx.schedule(correction.occurredAt + this.horizon, named.value);
      ctx.count('correction-pending');
      const why = owner === undefined ? `the ${named.type} it names is not linked to any profile yet` : `no merge into profile ${owner} that can still be undone brought its ${named.type} (it is the profile's own, or it was linked on a channel not in reversibleMerges.linkChannels, or more than reversibleMerges.horizon ago)`;
      this.audit(ctx, {
        kind: 'correction-pending',
        at: correction.occurredAt,
        eventId: correction.eventId,
        profileId: owner ?? null,
        otherProfileId: null,
        identifierType: named.type,
        detail: `${why}; it waits until ${new Date(correction.occurredAt + this.horizon).toISOString()} for a merge that brings it in (the two may reach the link log out of order)`,
      });
      return;
    }
    const moved: string[] = [];
    for (const keys of Object.values(record.loserEntry.identifiers)) {
      for (const key of keys) {
        if ((await identifiers.get(key)) !== owner) continue;
        identifiers.put(key, record.loser);
        moved.push(key);
      }
    }
    const gone = new Set(moved);
    const taken = new Set([record.loser, ...record.loserEntry.absorbed]);
    directory.put(record.loser, record.loserEntry);
    directory.put(owner, {
      firstSeen: entry.firstSeen,
      identifiers: withoutKeys(entry.identifiers, gone),
      absorbed: entry.absorbed.filter((id) => !taken.has(id)),
      ...(records.length > 1 ? { undoable: records.filter((r) => r !== record) } : {}),
    });
    // To the survivor by way of the restored profile: after the loser's state, which that profile sent
    // the survivor when it took the merge instruction (a correction may follow its merge closely).
    const split: ProfileEvent = {
      profileId: record.loser,
      at: correction.occurredAt,
      body: { kind: 'split', survivor: owner, restored: record.loser, mergeCauseEventId: record.causeEventId, causeEventId: correction.eventId, identifiers: moved },
    };
    ctx.forward('to-resolved', record.loser, split);
    ctx.count('split');
    const reason = correction.attributes.reason ? `: ${correction.attributes.reason}` : '';
    this.audit(ctx, {
      kind: 'split',
      at: correction.occurredAt,
      eventId: correction.eventId,
      profileId: owner,
      otherProfileId: record.loser,
      identifierType: named.type,
      detail: `${correction.channel} corrected the merge made by ${record.causeEventId} on ${new Date(record.at).toISOString()}${reason}; ${moved.length} identifiers point to ${record.loser} again`,
    });
  }

  /**
   * After a split, the identifiers the restored profile's own touchpoints
   * brought in after the merge (its profile task found them): they move to
   * it from the survivor, unless linked to someone else since.
   */
  private async handOver(request: Touchpoint, ctx: ProcessorContext<Out>): Promise<void> {
    const restored = request.attributes.profileId;
    const survivor = request.attributes.from;
    if (!restored || !survivor) return;
    const identifiers = ctx.store<string>(IDENTIFIERS_STORE);
    const directory = ctx.store<DirectoryEntry>(DIRECTORY_STORE);
    const moved: Identifier[] = [];
    for (const id of request.identifiers) {
      if ((await identifiers.get(id.value)) !== survivor) continue;
      identifiers.put(id.value, restored);
      moved.push(id);
    }
    if (moved.length === 0) return;
    // new entries: the stored ones are the cache's, read by others until the commit
    const target = (await directory.get(restored)) ?? { firstSeen: request.occurredAt, identifiers: {}, absorbed: [] };
    const given: Record<string, string[]> = structuredClone(target.identifiers);
    for (const id of moved) if (!(given[id.type] ??= []).includes(id.value)) given[id.type]!.push(id.value);
    directory.put(restored, { ...target, identifiers: given });
    const source = await directory.get(survivor);
    if (source) directory.put(survivor, { ...source, identifiers: withoutKeys(source.identifiers, new Set(moved.map((id) => id.value))) });
  }

  /** Right to erasure: forget every identifier of the person's profile and tell the profile task to delete it. */
  private async erase(touchpoint: Touchpoint, ctx: ProcessorContext<Out>): Promise<void> {
    const identifiers = ctx.store<string>(IDENTIFIERS_STORE);
    const directory = ctx.store<DirectoryEntry>(DIRECTORY_STORE);
    const profiles = new Set<string>();
    for (const id of touchpoint.identifiers) profiles.add((await identifiers.get(id.value)) ?? profileIdFor(id.value));
    for (const profile of profiles) {
      const entry = await directory.get(profile);
      const targets = [profile, ...(entry?.absorbed ?? [])];
      for (const keys of Object.values(entry?.identifiers ?? {})) for (const key of keys) identifiers.delete(key);
      directory.delete(profile);
      for (const target of targets) {
        const event: ProfileEvent = { profileId: target, at: touchpoint.occurredAt, body: { kind: 'erase', causeEventId: touchpoint.eventId, inactiveSince: null } };
        ctx.forward('to-resolved', target, event);
      }
      ctx.count('erasure');
      this.audit(ctx, {
        kind: 'erasure',
        at: touchpoint.occurredAt,
        eventId: touchpoint.eventId,
        profileId: profile,
        otherProfileId: null,
        identifierType: null,
        detail: `removed ${Object.values(entry?.identifiers ?? {}).flat().length} identifiers and ${targets.length - 1} merged-away profiles`,
      });
    }
  }

  /**
   * Retention: the profile task found a person inactive. The graph forgets
   * the identifiers that still point to the profile (one linked to someone
   * else since stays), then the profile is told to forget the person: it
   * keeps them instead if they came back meanwhile (see `relink`).
   */
  private async release(request: Touchpoint, ctx: ProcessorContext<Out>): Promise<void> {
    const profile = request.attributes.profileId;
    const lastSeen = Number(request.attributes.lastSeen);
    if (!profile || !Number.isFinite(lastSeen)) return;
    const identifiers = ctx.store<string>(IDENTIFIERS_STORE);
    const directory = ctx.store<DirectoryEntry>(DIRECTORY_STORE);
    const entry = await directory.get(profile);
    let released = 0;
    for (const keys of Object.values(entry?.identifiers ?? {})) {
      for (const key of keys) {
        if ((await identifiers.get(key)) !== profile) continue;
        identifiers.delete(key);
        released++;
      }
    }
    if (entry) directory.delete(profile);
    ctx.count('retention');
    const event: ProfileEvent = { profileId: profile, at: request.occurredAt, body: { kind: 'erase', causeEventId: request.eventId, inactiveSince: lastSeen } };
    ctx.forward('to-resolved', profile, event);
    this.retentionAudit(ctx, request, profile, `no touchpoint since ${new Date(lastSeen).toISOString()}: released ${released} identifiers`);
  }

  /** The person came back between `release` and the profile's turn to forget them: their identifiers point to their profile again. */
  private async relink(request: Touchpoint, ctx: ProcessorContext<Out>): Promise<void> {
    const profile = request.attributes.profileId;
    if (!profile) return;
    const identifiers = ctx.store<string>(IDENTIFIERS_STORE);
    const directory = ctx.store<DirectoryEntry>(DIRECTORY_STORE);
    const entry: DirectoryEntry = (await directory.get(profile)) ?? { firstSeen: Number(request.attributes.firstSeen) || request.occurredAt, identifiers: {}, absorbed: [] };
    let linked = 0;
    for (const id of request.identifiers) {
      const owner = await identifiers.get(id.value);
      if (owner !== undefined && owner !== profile) continue;
      if (owner === undefined) linked++;
      identifiers.put(id.value, profile);
      const keys = (entry.identifiers[id.type] ??= []);
      if (!keys.includes(id.value)) keys.push(id.value);
    }
    directory.put(profile, entry);
    this.retentionAudit(ctx, request, profile, `came back before being forgotten: ${linked} identifiers linked again`);
  }

  private retentionAudit(ctx: ProcessorContext<Out>, request: Touchpoint, profile: string, detail: string): void {
    this.audit(ctx, { kind: 'retention', at: request.occurredAt, eventId: request.eventId, profileId: profile, otherProfileId: null, identifierType: null, detail });
  }

  private audit(ctx: ProcessorContext<Out>, audit: IdentityAudit): void {
    ctx.forward('to-audit', audit.profileId ?? audit.eventId, audit);
  }
}

function withoutKeys(identifiers: Record<string, string[]>, gone: ReadonlySet<string>): Record<string, string[]> {
  const kept: Record<string, string[]> = {};
  for (const [type, keys] of Object.entries(identifiers)) {
    const left = keys.filter((key) => !gone.has(key));
    if (left.length > 0) kept[type] = left;
  }
  return kept;
}

function older(a: Candidate, b: Candidate): boolean {
  return a.entry.firstSeen < b.entry.firstSeen || (a.entry.firstSeen === b.entry.firstSeen && a.id < b.id);
}
