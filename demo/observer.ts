import type { Kafka } from '../runtime/kafka/kafkajs/client';
import type { TriggerLift } from '../processors/outcomes/lift';
import type { SchemaRegistryClient } from '../runtime/serde/registry';
import type { SchemaCatalog } from '../runtime/serde/schema-catalog';
import type { OutcomeResponder } from '../simulator/responder';
import type { TouchpointGenerator } from '../simulator/generator';
import type { topicNames } from '../topology';
import { decoding, TopicFollower } from '../runtime/kafka/kafkajs/topic-follower';
import { Tally, type AuditRecord, type CommandRecord, type DecisionRecord, type MembershipRecord, type ViewRecord } from './tally';

type Topics = ReturnType<typeof topicNames>;

/**
 * The summary's eyes: reads what the engine wrote to its output topics
 * (commands, decisions, segment changes, profile views, the identity audit,
 * lift) as any downstream consumer would, read_committed, into a Tally.
 */
export function outputObserver(kafka: Kafka, groupId: string, topics: Topics, registry: SchemaRegistryClient, catalog: SchemaCatalog, tally: Tally): TopicFollower {
  return new TopicFollower(kafka, groupId, {
    [topics.commands]: decoding<CommandRecord>(registry, catalog, 'EngagementCommand', (c) => c && tally.command(c)),
    [topics.decisions]: decoding<DecisionRecord>(registry, catalog, 'EngagementDecision', (d) => d && tally.decision(d)),
    [topics.membership]: decoding<MembershipRecord>(registry, catalog, 'SegmentMembership', (m) => m && tally.membership(m)),
    [topics.views]: decoding<ViewRecord>(registry, catalog, 'ProfileView', (v, m) => tally.view(m.key!.toString('utf8'), v)),
    [topics.audit]: decoding<AuditRecord>(registry, catalog, 'IdentityAudit', (a) => a && tally.auditEvent(a)),
    [topics.lift]: decoding<TriggerLift>(registry, catalog, 'TriggerLift', (l) => l && tally.liftRecord(l)),
  });
}

/**
 * The simulated people's side of the channels: reads the commands the
 * engine sends and the decisions it records (held-out people), asks the
 * simulator's OutcomeResponder how each person answers, and puts the
 * answers into the generator's stream, which the feed produces back to
 * touchpoints.raw when the simulated clock reaches them.
 */
export function responderLoop(
  kafka: Kafka,
  groupId: string,
  topics: Topics,
  registry: SchemaRegistryClient,
  catalog: SchemaCatalog,
  responder: OutcomeResponder,
  generator: TouchpointGenerator,
): TopicFollower {
  return new TopicFollower(
    kafka,
    groupId,
    {
      [topics.commands]: decoding<CommandRecord>(registry, catalog, 'EngagementCommand', (c) => c && generator.inject(responder.respondToCommand(c, generator.clock))),
      [topics.decisions]: decoding<DecisionRecord>(registry, catalog, 'EngagementDecision', (d) => d && generator.inject(responder.respondToDecision(d, generator.clock))),
    },
    { maxWaitTimeInMs: 100 },
  );
}
