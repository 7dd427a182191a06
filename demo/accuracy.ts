import type { Admin, Kafka } from '../runtime/kafka/kafkajs/client';
import { IdentifierHasher, profileIdFor } from '../processors/identity/identifiers';
import { IDENTIFIERS_STORE } from '../processors/stores';
import { pairwisePrecisionRecall, type GroundTruth, type PairwiseScore } from '../simulator/truth';
import { readTopicToEnd } from '../runtime/kafka/kafkajs/topic-follower';
import type { LiftSummary } from './tally';

/**
 * The engine measured against the simulator's ground truth: how well its
 * identity graph clusters each person's identifiers, and how close its
 * lift per trigger comes to the true uplift.
 */

/** The identity graph as every instance holds it: the link task's identifier store changelog (key `type:hash`, value profile id). */
export async function readIdentityGraph(kafka: Kafka, admin: Admin, appId: string, groupId: string): Promise<Map<string, string>> {
  const graph = new Map<string, string>();
  await readTopicToEnd(kafka, admin, `${appId}-${IDENTIFIERS_STORE}-changelog`, groupId, (messages) => {
    for (const m of messages) {
      const key = m.key!.toString('utf8');
      if (m.value === null) graph.delete(key);
      else graph.set(key, m.value.toString('utf8'));
    }
  });
  return graph;
}

export interface IdentityAccuracy {
  /** Against each simulated person's identifiers. */
  person: PairwiseScore;
  /** Against what trusted authenticated events could prove (each person split into provable groups). */
  provable: PairwiseScore;
  /** Identifier keys in the graph (linked at least once). */
  graphEntries: number;
}

/**
 * Pairwise precision/recall of the engine's clustering. An identifier the
 * graph does not hold was never linked: the engine gives it its own
 * profile, `profileIdFor(key)`, and so does this prediction.
 */
export function identityAccuracy(truth: GroundTruth, graph: ReadonlyMap<string, string>, hasher: IdentifierHasher): IdentityAccuracy {
  const key = (type: string, value: string) => hasher.hash(type, value);
  const predicted = new Map(graph);
  for (const person of truth.persons) {
    for (const id of person.identifiers) {
      const k = key(id.type, id.value);
      if (!predicted.has(k)) predicted.set(k, profileIdFor(k));
    }
  }
  return {
    person: pairwisePrecisionRecall(truth, predicted, { key }),
    provable: pairwisePrecisionRecall(truth, predicted, { key, against: 'provable' }),
    graphEntries: graph.size,
  };
}

export interface LiftAgainstTruth extends LiftSummary {
  baseRate: number;
  trueUplift: number;
  /** The true uplift lies inside the measured 95% interval (null without an interval). */
  withinCi: boolean | null;
}

export function liftAgainstTruth(measured: readonly LiftSummary[], truth: GroundTruth): LiftAgainstTruth[] {
  return measured.map((m) => {
    const t = truth.triggers[m.triggerId] ?? truth.defaultTrigger;
    const ci = m.estimate.ci95;
    return { ...m, baseRate: t.baseRate, trueUplift: t.uplift, withinCi: ci ? ci[0] <= t.uplift && t.uplift <= ci[1] : null };
  });
}
