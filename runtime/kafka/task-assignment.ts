import type { GroupAssignor } from './adapter';

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
export function taskAssignor(groups: TaskGroups, self: () => MemberInfo): GroupAssignor {
  return {
    userData: () => encodeMemberInfo(self()),
    assign(members, partitionCount) {
      const tasks: { id: string; topics: string[]; partition: number }[] = [];
      for (const group of groups) {
        const partitions = partitionCount(group.topics[0]!);
        for (let p = 0; p < partitions; p++) tasks.push({ id: `${group.id}_${p}`, topics: group.topics, partition: p });
      }
      const ids = members.map((m) => m.memberId).sort();
      const previous = new Map<string, string>();
      for (const member of members) {
        for (const task of decodeMemberInfo(member.userData).tasks) if (!previous.has(task)) previous.set(task, member.memberId);
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
      const result = new Map<string, Record<string, number[]>>();
      for (const memberId of ids) {
        const assignment: Record<string, number[]> = {};
        for (const task of owned.get(memberId)!) for (const topic of task.topics) (assignment[topic] ??= []).push(task.partition);
        result.set(memberId, assignment);
      }
      return result;
    },
  };
}
