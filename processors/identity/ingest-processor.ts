import { outputs, type Processor, type ProcessorContext, type StreamRecord } from '../../runtime/processor';
import { parseDuration } from '../../config/duration';
import { DeserializationError } from '../../runtime/errors';
import { ENGINE_EVENTS, EVENT, type Touchpoint } from '../model/touchpoint';
import type { IdentityAudit } from './audit';
import type { IdentityConfig } from './config';
import type { IdentifierHasher } from './identifiers';
import type { IngestedTouchpoint } from './resolve-processor';

const TOKEN = /^[a-z][a-z0-9_]{0,63}$/;
/** Event times outside this range are typos or unit mistakes (seconds instead of ms). */
const EARLIEST = Date.UTC(2000, 0, 1);
const LATEST = Date.UTC(2100, 0, 1);

/**
 * The door of the engine: validates a channel's touchpoint, normalises and
 * hashes its identifiers (raw PII goes no further), and routes it. Erasure
 * requests and identity corrections (from a channel trusted to correct,
 * identity.yaml `reversibleMerges`) go to the single-writer link log;
 * everything else to `resolve`,
 * marked when it is trusted to link identifiers (resolve sends it on to the
 * link log if it could change the identity graph).
 */
export const INGEST_OUTPUTS = outputs('resolve', 'to-links', 'to-audit');
type Out = (typeof INGEST_OUTPUTS)[number];

export class IngestProcessor implements Processor<unknown, Touchpoint, Out> {
  private readonly linkTypes: Set<string>;
  private readonly linkChannels: Set<string>;
  private readonly correctionChannels: Set<string>;

  constructor(
    private readonly config: IdentityConfig,
    private readonly hasher: IdentifierHasher,
  ) {
    this.linkTypes = new Set(config.trust.linkEventTypes);
    this.linkChannels = new Set(config.trust.linkChannels);
    this.correctionChannels = new Set(config.reversibleMerges?.correctionChannels ?? []);
  }

  process(record: StreamRecord<unknown, Touchpoint>, ctx: ProcessorContext<Out>): void {
    const raw = record.value;
    const problem = validate(raw, this.config.input);
    if (problem) {
      ctx.reject('invalid-record', problem);
      return;
    }
    if (ENGINE_EVENTS.has(raw.eventType)) {
      ctx.reject('invalid-record', `touchpoint ${raw.eventId}: event type ${raw.eventType} is the engine's own; a channel cannot send it`);
      return;
    }
    const { accepted, rejected } = this.hasher.prepare(raw.identifiers);
    if (accepted.length === 0) {
      const why = rejected.map((r) => `${r.type}: ${r.reason}`).join('; ') || 'no identifiers';
      ctx.reject('invalid-record', `touchpoint ${raw.eventId} has no usable identifier (${why})`);
      return;
    }
    if (rejected.length > 0) this.auditRejected(raw, rejected, ctx);
    const touchpoint: Touchpoint = { ...raw, identifiers: accepted };
    if (raw.eventType === EVENT.identityCorrection) {
      const refused = this.correctionRefusal(touchpoint);
      if (refused) ctx.reject('invalid-record', `touchpoint ${raw.eventId}: ${refused}`);
      else ctx.forward('to-links', raw.eventId, touchpoint);
    } else if (raw.eventType === EVENT.erasureRequested) {
      ctx.forward('to-links', raw.eventId, touchpoint);
    } else {
      const ingested: IngestedTouchpoint = { touchpoint, mayLink: accepted.length > 1 && this.mayLink(raw) };
      ctx.forward('resolve', raw.eventId, ingested);
    }
  }

  /** A dropped identifier is a channel's data-quality problem worth a record, not only a count (never its value). */
  private auditRejected(raw: Touchpoint, rejected: readonly { type: string; reason: string }[], ctx: ProcessorContext<Out>): void {
    ctx.count('identifier-rejected', rejected.length);
    for (const { type, reason } of rejected) {
      const audit: IdentityAudit = {
        kind: 'identifier-rejected',
        at: raw.occurredAt,
        eventId: raw.eventId,
        profileId: null,
        otherProfileId: null,
        identifierType: type,
        detail: `${type} dropped: ${reason}; the touchpoint went on with its other identifiers`,
      };
      ctx.forward('to-audit', raw.eventId, audit);
    }
  }

  /** Why an identity correction cannot be taken from this touchpoint, or undefined. */
  private correctionRefusal(correction: Touchpoint): string | undefined {
    if (!this.correctionChannels.has(correction.channel)) {
      return `an identity_correction from channel ${correction.channel} is not trusted (identity.yaml reversibleMerges.correctionChannels: ${[...this.correctionChannels].join(', ') || 'none'})`;
    }
    if (!correction.authenticated) return 'an identity_correction must be authenticated (made by staff who verified the person)';
    if (correction.identifiers.length !== 1) {
      return `an identity_correction names exactly one identifier, the one that is not this person's; it has ${correction.identifiers.length} usable ones`;
    }
    return undefined;
  }

  private mayLink(touchpoint: Touchpoint): boolean {
    return (
      this.linkTypes.has(touchpoint.eventType) &&
      this.linkChannels.has(touchpoint.channel) &&
      (touchpoint.authenticated || !this.config.trust.requireAuthenticated)
    );
  }
}

/** What is wrong with a touchpoint, in words, or undefined. */
export function validate(t: Touchpoint, limits: IdentityConfig['input']): string | undefined {
  if (!t.eventId || t.eventId.length > 200) return 'eventId must be 1 to 200 characters';
  if (!Number.isFinite(t.occurredAt) || t.occurredAt < EARLIEST || t.occurredAt > LATEST) {
    return `occurredAt ${t.occurredAt} is not a time in milliseconds between 2000 and 2100`;
  }
  if (!TOKEN.test(t.channel)) return `channel '${t.channel}' must be lower_snake_case`;
  if (!TOKEN.test(t.eventType)) return `eventType '${t.eventType}' must be lower_snake_case`;
  if (t.eventType === EVENT.consentUpdated && !t.consent) return 'a consent_updated touchpoint needs its consent field';
  const attributes = Object.keys(t.attributes).length;
  if (attributes > limits.maxAttributes) return `attributes has ${attributes} entries, more than input.maxAttributes (${limits.maxAttributes})`;
  // Identifier values are checked one by one by the hasher, which drops a bad one and keeps the rest.
  const found = badStringIn(t, limits.maxStringLength, 'identifiers');
  return found && found.problem(found.path.join('.'));
}

interface BadString {
  /** Field names from the outside in (a map key is named `<key> (key)`). */
  path: string[];
  problem(path: string): string;
}

/**
 * The first string (or map key) under `value` that is too long or was not
 * valid UTF-8. Every touchpoint goes through here: the path is put
 * together only for the one that fails (it was 3 % of ingest's CPU).
 */
function badStringIn(value: object, max: number, skip?: string): BadString | undefined {
  for (const key in value) {
    if (key === skip) continue;
    const keyProblem = badText(key, max);
    if (keyProblem) return { path: [`${key} (key)`], problem: keyProblem };
    const inner = (value as Record<string, unknown>)[key];
    const found = typeof inner === 'string' ? textProblem(inner, max) : inner !== null && typeof inner === 'object' && !Buffer.isBuffer(inner) ? badStringIn(inner, max) : undefined;
    if (found) {
      found.path.unshift(key);
      return found;
    }
  }
  return undefined;
}

function textProblem(text: string, max: number): BadString | undefined {
  const problem = badText(text, max);
  return problem && { path: [], problem };
}

function badText(text: string, max: number): BadString['problem'] | undefined {
  if (text.length > max) return (path) => `${path} is ${text.length} characters, more than input.maxStringLength (${max})`;
  if (text.includes('\uFFFD')) return (path) => `${path} is not valid UTF-8`;
  return undefined;
}

/**
 * A touchpoint's event time, refused (to the dead-letter topic, with the
 * reason) when it is further ahead of the record's Kafka timestamp than
 * identity.yaml `input.maxFutureSkew`: one record dated years ahead would
 * move its partition's stream time there.
 */
export function touchpointEventTime(identity: IdentityConfig): (t: Touchpoint, kafkaTime: number) => number {
  const skew = identity.input.maxFutureSkew;
  if (skew === undefined) return (t) => t.occurredAt;
  const limit = parseDuration(skew);
  return (t, kafkaTime) => {
    if (t.occurredAt - kafkaTime > limit) {
      throw new DeserializationError(
        'invalid-record',
        `touchpoint ${t.eventId}: occurredAt ${new Date(t.occurredAt).toISOString()} is more than ${skew} ahead of its record's timestamp ${new Date(kafkaTime).toISOString()} (identity.yaml input.maxFutureSkew)`,
      );
    }
    return t.occurredAt;
  };
}
