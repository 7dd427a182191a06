/**
 * TypeScript views of the Avro records in schemas/. The .avsc files are the
 * contract with channels; these types must follow them field for field.
 */

export interface Identifier {
  type: string;
  value: string;
}

export interface PageContext {
  path: string | null;
  category: string | null;
  product: string | null;
  depth: number | null;
  scrollPercent: number | null;
  dwellMs: number | null;
}

export interface Money {
  minorUnits: number;
  currency: string;
}

export interface TrafficSource {
  medium: string | null;
  referrer: string | null;
  campaign: string | null;
  source: string | null;
}

export interface ConsentChange {
  channel: string;
  purpose: string;
  granted: boolean;
}

export interface EngagementOutcome {
  commandId: string | null;
  triggerId: string | null;
}

/** schemas/Touchpoint.avsc */
export interface Touchpoint {
  eventId: string;
  occurredAt: number;
  receivedAt: number | null;
  channel: string;
  eventType: string;
  identifiers: Identifier[];
  authenticated: boolean;
  sessionId: string | null;
  page: PageContext | null;
  searchTerms: string | null;
  amount: Money | null;
  balance: Money | null;
  source: TrafficSource | null;
  consent: ConsentChange | null;
  outcome: EngagementOutcome | null;
  timeZone: string | null;
  attributes: Record<string, string>;
}

/** Event types the engine gives a meaning to; channels may send others. */
export const EVENT = {
  consentUpdated: 'consent_updated',
  erasureRequested: 'erasure_requested',
  /** A trusted channel says a merge was wrong: split off the side of the identifier it names (identity.yaml `reversibleMerges`). */
  identityCorrection: 'identity_correction',
  login: 'login',
  /** The engine's own, on identity.links: a profile is inactive (profile.yaml `retention`); release its identifiers. */
  retentionExpired: 'retention_expired',
  /** The engine's own, on identity.links: the person came back before being forgotten; link their identifiers again. */
  retentionCancelled: 'retention_cancelled',
  /** The engine's own, on identity.links: identifiers a split gave back to the restored profile that the graph still points elsewhere. */
  splitIdentifiers: 'split_identifiers',
} as const;

/** Event types only the engine writes: a channel's touchpoint with one of them is refused at ingest. */
export const ENGINE_EVENTS: ReadonlySet<string> = new Set([EVENT.retentionExpired, EVENT.retentionCancelled, EVENT.splitIdentifiers]);

/** Outcome event types: what became of an engagement command. */
export const OUTCOME_EVENTS = ['delivered', 'shown', 'clicked', 'converted', 'dismissed'] as const;
export type OutcomeEvent = (typeof OUTCOME_EVENTS)[number];

/** A touchpoint with every optional field at its default: handy for tests, simulators and examples. */
export function touchpoint(fields: Partial<Touchpoint> & Pick<Touchpoint, 'eventId' | 'occurredAt' | 'channel' | 'eventType'>): Touchpoint {
  return {
    receivedAt: null,
    identifiers: [],
    authenticated: false,
    sessionId: null,
    page: null,
    searchTerms: null,
    amount: null,
    balance: null,
    source: null,
    consent: null,
    outcome: null,
    timeZone: null,
    attributes: {},
    ...fields,
  };
}
