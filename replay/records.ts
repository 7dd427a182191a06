import type * as avro from 'avsc';
import type { OutputRecord } from '../runtime/records';
import { SchemaCatalog } from '../runtime/serde/schema-catalog';
import { SCHEMAS_DIR, topicNames } from '../topology';

/**
 * The product outputs a replay reads, by topic name and schema (schemas/),
 * never by topology node: whatever node writes engagement.commands, its
 * records are EngagementCommand.avsc. The interfaces follow the .avsc
 * files field for field.
 */

export interface DecisionCheck {
  check: string;
  passed: boolean;
  detail: string;
}

export interface DecisionTrace {
  rule: string;
  causeEventIds: string[];
  scores: Record<string, number>;
  segments: string[];
  checks: DecisionCheck[];
}

export interface EngagementCommand {
  commandId: string;
  profileId: string;
  triggerId: string;
  channel: string;
  action: string;
  contentRef: string;
  priority: number;
  createdAt: number;
  expiresAt: number;
  trace: DecisionTrace;
}

export interface EngagementDecision {
  decisionId: string;
  profileId: string;
  triggerId: string;
  outcome: string;
  decidedAt: number;
  trace: DecisionTrace;
}

export interface SegmentMembership {
  profileId: string;
  segment: string;
  change: string;
  at: number;
  reason: string;
  values: Record<string, number>;
}

export interface TriggerLiftRecord {
  triggerId: string;
  partition: number;
  treated: number;
  treatedConverted: number;
  control: number;
  controlConverted: number;
  asOf: number;
}

/** Topic names of the outputs a replay reports on (and writes with --output-prefix), for a topic prefix. */
export function outputTopics(prefix = '') {
  const base = topicNames(prefix);
  return {
    raw: base.raw,
    commands: `${prefix}engagement.commands`,
    decisions: `${prefix}engagement.decisions`,
    membership: `${prefix}segments.membership`,
    views: `${prefix}profiles.view`,
    lift: `${prefix}engagement.lift`,
    audit: base.audit,
  };
}

export type OutputTopics = ReturnType<typeof outputTopics>;

const HEADER_BYTES = 5;

/**
 * Decodes the replay's own outputs. They were written with the catalog's
 * types (the writer schema is the reader schema), so the registry is not
 * needed: skip the 5-byte wire header and read the Avro body.
 */
export class OutputDecoder {
  private readonly types: Record<'command' | 'decision' | 'membership' | 'lift', avro.Type>;

  constructor(catalog = SchemaCatalog.load(SCHEMAS_DIR)) {
    this.types = {
      command: catalog.type('EngagementCommand'),
      decision: catalog.type('EngagementDecision'),
      membership: catalog.type('SegmentMembership'),
      lift: catalog.type('TriggerLift'),
    };
  }

  command(value: Buffer): EngagementCommand {
    return this.types.command.fromBuffer(value.subarray(HEADER_BYTES)) as EngagementCommand;
  }

  decision(value: Buffer): EngagementDecision {
    return this.types.decision.fromBuffer(value.subarray(HEADER_BYTES)) as EngagementDecision;
  }

  membership(value: Buffer): SegmentMembership {
    return this.types.membership.fromBuffer(value.subarray(HEADER_BYTES)) as SegmentMembership;
  }

  lift(value: Buffer): TriggerLiftRecord {
    return this.types.lift.fromBuffer(value.subarray(HEADER_BYTES)) as TriggerLiftRecord;
  }
}

/** A copy that does not pin Node's shared 8 KB allocation pool (for buffers kept long). */
export function ownedCopy(buffer: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(buffer.length);
  buffer.copy(copy);
  return copy;
}

export type { OutputRecord };
