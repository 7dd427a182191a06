import { decodeMemberInfo, encodeMemberInfo, taskAssignor, type MemberInfo } from '../../../runtime/kafka/task-assignment';

/** Two sub-topologies: 0 reads one topic, 1 reads two co-partitioned topics. */
const GROUPS = [
  { id: 0, topics: ['raw'] },
  { id: 1, topics: ['resolved', 'commands-in'] },
];
const PARTITIONS = 4;

function assign(members: Record<string, MemberInfo>) {
  const assignor = taskAssignor(GROUPS, () => ({ endpoint: '', tasks: [] }));
  const list = Object.entries(members).map(([memberId, info]) => ({ memberId, userData: encodeMemberInfo(info) }));
  return assignor.assign(list, () => PARTITIONS);
}

/** The tasks (`<sub>_<partition>`) of an assignment, from the partitions of each sub-topology's first topic. */
function tasksOf(assignment: Record<string, number[]>): string[] {
  return GROUPS.flatMap((g) => (assignment[g.topics[0]!] ?? []).map((p) => `${g.id}_${p}`)).sort();
}

test('every task goes to exactly one member, whole: co-partitioned topics of a task meet on one member', () => {
  const result = assign({ a: { endpoint: 'a:1', tasks: [] }, b: { endpoint: 'b:1', tasks: [] }, c: { endpoint: 'c:1', tasks: [] } });
  const all = [...result.values()].flatMap(tasksOf).sort();
  expect(all).toEqual(['0_0', '0_1', '0_2', '0_3', '1_0', '1_1', '1_2', '1_3']);
  for (const assignment of result.values()) expect([...(assignment.resolved ?? [])].sort()).toEqual([...(assignment['commands-in'] ?? [])].sort());
  // Balanced: 8 tasks over 3 members, at most ceil(8/3) = 3 each and at least 2.
  for (const assignment of result.values()) expect(tasksOf(assignment).length).toBeGreaterThanOrEqual(2);
  for (const assignment of result.values()) expect(tasksOf(assignment).length).toBeLessThanOrEqual(3);
});

test('tasks stay with their previous owner while that keeps the load balanced; a new member takes the surplus', () => {
  const before = assign({ a: { endpoint: '', tasks: [] }, b: { endpoint: '', tasks: [] } });
  const owned = { a: tasksOf(before.get('a')!), b: tasksOf(before.get('b')!) };
  const after = assign({ a: { endpoint: '', tasks: owned.a }, b: { endpoint: '', tasks: owned.b }, c: { endpoint: '', tasks: [] } });
  const kept = tasksOf(after.get('a')!).filter((t) => owned.a.includes(t)).length + tasksOf(after.get('b')!).filter((t) => owned.b.includes(t)).length;
  // 8 tasks, quota 3: a and b keep 3 each, c gets the 2 that moved.
  expect(kept).toBe(6);
  expect(tasksOf(after.get('c')!)).toHaveLength(2);
});

test('the result depends only on the members and their metadata, not on the order they are listed in', () => {
  const members = { b: { endpoint: '', tasks: ['0_1', '1_1'] }, a: { endpoint: '', tasks: ['0_0'] } };
  const one = assign(members);
  const other = assign({ a: members.a, b: members.b });
  expect(Object.fromEntries(one)).toEqual(Object.fromEntries(other));
});

test('member info round-trips, and unreadable user data reads as none', () => {
  expect(decodeMemberInfo(encodeMemberInfo({ endpoint: 'h:8080', tasks: ['1_2'] }))).toEqual({ endpoint: 'h:8080', tasks: ['1_2'] });
  expect(decodeMemberInfo(Buffer.from('not json'))).toEqual({ endpoint: '', tasks: [] });
  expect(decodeMemberInfo(null)).toEqual({ endpoint: '', tasks: [] });
});
