import { AssignerProtocol, type Assigner, type PartitionAssigner } from './client';

export const ASSIGNER_NAME = 'listening-post-tasks';

/** What each member tells the group leader about itself. */
export interface MemberInfo {
  /** host:port of the member's HTTP API (metrics, health, profile queries). */
  endpoint: string;
  /** Tasks it owns now, so the leader can leave them where their state already is. */
  tasks: string[];
}

/** Which topics make up each sub-topology (all read together, co-partitioned). */
export type TaskGroups = { id: number; topics: string[] }[];

export function encodeMemberInfo(info: MemberInfo): Buffer {
  return Buffer.from(JSON.stringify(info));
}

export function decodeMemberInfo(userData: Buffer | null | undefined): MemberInfo {
  try {
    const parsed = JSON.parse((userData ?? Buffer.alloc(0)).toString() || '{}') as Partial<MemberInfo>;
    return { endpoint: parsed.endpoint ?? '', tasks: parsed.tasks ?? [] };
  } catch {
    return { endpoint: '', tasks: [] };
  }
}

/**
 * Assigns tasks, not partitions: task `<sub>_<n>` is partition n of every
 * topic of sub-topology <sub>, and always goes to one member whole, so
 * co-partitioned inputs meet in one task. Tasks stay with their previous
 * owner while that keeps the load balanced (no needless restoration);
 * the rest go to the least loaded members. The result depends only on the
 * members and their metadata, never on timing.
 */
export function taskAssigner(groups: TaskGroups, self: () => MemberInfo): PartitionAssigner {
  return ({ cluster }) => {
    const assigner: Assigner = {
      name: ASSIGNER_NAME,
      version: 1,
      async assign({ members, topics }) {
        await cluster.refreshMetadataIfNecessary();
        const tasks: { id: string; topics: string[]; partition: number }[] = [];
        for (const group of groups) {
          const subscribed = group.topics.filter((t) => topics.includes(t));
          if (subscribed.length === 0) continue;
          const partitions = cluster.findTopicPartitionMetadata(subscribed[0]!).length;
          for (let p = 0; p < partitions; p++) tasks.push({ id: `${group.id}_${p}`, topics: subscribed, partition: p });
        }
        const ids = members.map((m) => m.memberId).sort();
        const previous = new Map<string, string>();
        for (const member of members) {
          const { userData } = AssignerProtocol.MemberMetadata.decode(member.memberMetadata)!;
          for (const task of decodeMemberInfo(userData).tasks) if (!previous.has(task)) previous.set(task, member.memberId);
        }
        const quota = Math.ceil(tasks.length / Math.max(ids.length, 1));
        const owned = new Map<string, typeof tasks>(ids.map((id) => [id, []]));
        const unplaced: typeof tasks = [];
        for (const task of tasks) {
          const owner = previous.get(task.id);
          const list = owner === undefined ? undefined : owned.get(owner);
          if (list && list.length < quota) list.push(task);
          else unplaced.push(task);
        }
        for (const task of unplaced) {
          const least = ids.reduce((best, id) => (owned.get(id)!.length < owned.get(best)!.length ? id : best), ids[0]!);
          owned.get(least)!.push(task);
        }
        return ids.map((memberId) => {
          const assignment: Record<string, number[]> = {};
          for (const task of owned.get(memberId)!) {
            for (const topic of task.topics) (assignment[topic] ??= []).push(task.partition);
          }
          return {
            memberId,
            memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 1, assignment, userData: Buffer.alloc(0) }),
          };
        });
      },
      protocol({ topics }) {
        return {
          name: ASSIGNER_NAME,
          metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: encodeMemberInfo(self()) }),
        };
      },
    };
    return assigner;
  };
}
