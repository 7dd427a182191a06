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

import type { IdentityAudit } from '../processors/identity/audit';
import type { TriggerLift as TriggerLiftRecord } from '../processors/outcomes/lift';
import type { SegmentMembership } from '../processors/segmentation/segmentation-processor';
import type { EngagementCommand, EngagementDecision } from '../processors/triggers/records';

export type { DecisionCheck, DecisionTrace } from '../processors/triggers/records';
export type { EngagementCommand, EngagementDecision, SegmentMembership, TriggerLiftRecord };

/** Topic names of the outputs a replay reports on (and writes with --output-prefix), for a topic prefix. */
export const outputTopics = topicNames;

export type OutputTopics = ReturnType<typeof outputTopics>;

const HEADER_BYTES = 5;

/**
 * Decodes the replay's own outputs. They were written with the catalog's
 * types (the writer schema is the reader schema), so the registry is not
 * needed: skip the 5-byte wire header and read the Avro body.
 */
export class OutputDecoder {
  private readonly types: Record<'command' | 'decision' | 'membership' | 'lift' | 'audit', avro.Type>;

  constructor(catalog = SchemaCatalog.load(SCHEMAS_DIR)) {
    this.types = {
      command: catalog.type('EngagementCommand'),
      decision: catalog.type('EngagementDecision'),
      membership: catalog.type('SegmentMembership'),
      lift: catalog.type('TriggerLift'),
      audit: catalog.type('IdentityAudit'),
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

  audit(value: Buffer): IdentityAudit {
    return this.types.audit.fromBuffer(value.subarray(HEADER_BYTES)) as IdentityAudit;
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
