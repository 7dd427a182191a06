import type { ProfileEvent } from '../processors/model/profile-event';
import { ENGINE_EVENTS, type Touchpoint } from '../processors/model/touchpoint';
import { InProcessEngine } from '../runtime/in-process-engine';
import { DLQ_HEADERS, type OutputRecord } from '../runtime/records';
import type { Serde } from '../runtime/serde/serde';
import { TASK_STORE, type Topology } from '../runtime/topology';
import { topicNames } from '../topology';
import { lastValues, type LiveRecord } from './live';
import { multisetMinus, recordMultiset, repeatedIn, type TopicRecord } from './outputs';

/** One check of the proof: what it compares, whether it held, and examples when it did not. */
export interface Finding {
  check: string;
  ok: boolean;
  detail: string;
  examples: string[];
}

const EXAMPLES = 5;

function finding(check: string, problems: readonly string[], detail: string): Finding {
  return { check, ok: problems.length === 0, detail: problems.length === 0 ? detail : `${problems.length} ${detail}`, examples: problems.slice(0, EXAMPLES) };
}

/**
 * Exactly-once, checked without assuming a processing order: a task's
 * outputs are a function of the sequence of records it committed as
 * input, so re-running the link task and every profile task on the
 * driver, on exactly what the live group committed on identity.links and
 * touchpoints.resolved, must give exactly what the live run left on the
 * output topics and changelogs. A command lost or written twice across a
 * crash, state restored wrong, or a transaction half applied, shows up as
 * a difference. The ingest/resolve tasks read the identity graph as it is
 * at that moment, so their outputs are checked by accounting instead:
 * every raw touchpoint reached identity.links or touchpoints.resolved
 * exactly once, or the dead-letter topic.
 *
 * `topology` must be the live run's (same app id, prefix, partitions and
 * rules) built with the live registry, so outputs carry the same schema ids.
 */
export async function checkExactlyOnce(topology: Topology, live: ReadonlyMap<string, readonly LiveRecord[]>, prefix: string): Promise<Finding[]> {
  const topic = topicNames(prefix);
  const produced: OutputRecord[] = [];
  const driver = await InProcessEngine.create(topology, { feedback: false, onOutput: (r) => produced.push(r) });
  const records = (name: string) => live.get(name) ?? [];
  for (const name of [topic.links, topic.resolved]) {
    for (const r of records(name)) driver.pipeRaw(name, r.key, r.value, { partition: r.partition, headers: r.headers, timestamp: Number(r.timestamp) });
  }
  await driver.run();
  const replayed = (name: string): TopicRecord[] => produced.filter((r) => r.topic === name);

  const findings: Finding[] = [];
  // Topics only the profile task writes: equal, record for record; compacted ones (the log
  // cleaner drops superseded values while the run goes on) by their last value per key.
  const compacted = new Set(topology.topics.filter((t) => t.compacted).map((t) => t.name));
  for (const name of [topic.views, topic.lift]) {
    if (!compacted.has(name)) throw new Error(`${name} is expected to be compacted`);
    const a = lastValues(records(name));
    const b = lastValues(replayed(name));
    const problems = [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k)).map((k) => `${name} ${k}`);
    findings.push(finding(`${name}: last value per key = the profile tasks re-run on their committed input`, problems, `keys differ (live ${a.size}, re-run ${b.size})`));
  }
  for (const name of [topic.commands, topic.decisions, topic.membership, topology.deadLetterTopic(topic.resolved)]) {
    const a = recordMultiset(records(name));
    const b = recordMultiset(replayed(name));
    const problems = [...multisetMinus(b, a).map((id) => `missing live: ${describeRecordId(id)}`), ...multisetMinus(a, b).map((id) => `extra live: ${describeRecordId(id)}`)];
    findings.push(finding(`${name}: live = the profile tasks re-run on their committed input`, problems, `records differ (live ${records(name).length}, re-run ${replayed(name).length})`));
  }
  // Topics several sub-topologies write: what the link and profile tasks wrote must be there, once.
  for (const name of [topic.resolved, topic.audit]) {
    const problems = multisetMinus(recordMultiset(replayed(name)), recordMultiset(records(name))).map((id) => `missing live: ${describeRecordId(id)}`);
    findings.push(finding(`${name}: holds what the re-run link and profile tasks wrote`, problems, `records of the re-run are not on the live topic`));
  }
  const rerun = topology.subTopologies.filter((s) => s.sources.some((source) => source.options.topic === topic.links || source.options.topic === topic.resolved));
  for (const store of rerun.flatMap((s) => s.stores).filter((s) => s.changelog)) {
    const state = (from: readonly TopicRecord[]) => (store.name === TASK_STORE ? withoutReadPositions(lastValues(from)) : lastValues(from));
    const a = state(records(store.changelog!));
    const b = state(replayed(store.changelog!));
    const problems = [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k)).map((k) => `${store.name} ${k}`);
    findings.push(finding(`${store.changelog}: final state = the re-run's`, problems, `keys differ (live ${a.size}, re-run ${b.size})`));
  }
  findings.push(await accountRawInput(topology, live, topic, replayed(topic.resolved)));
  return findings;
}

/** Every raw record committed by the group went to exactly one place: the DLQ, identity.links, or touchpoints.resolved. */
async function accountRawInput(topology: Topology, live: ReadonlyMap<string, readonly LiveRecord[]>, topic: ReturnType<typeof topicNames>, rerun: readonly TopicRecord[]): Promise<Finding> {
  const records = (name: string) => live.get(name) ?? [];
  const dead = new Set(records(topology.deadLetterTopic(topic.raw)).map((r) => `${r.headers[DLQ_HEADERS.partition]}/${r.headers[DLQ_HEADERS.offset]}`));
  const raw = await decoded<Touchpoint>(topology, topic.raw, records(topic.raw).filter((r) => !dead.has(`${r.partition}/${r.offset}`)));
  const links = await decoded<Touchpoint>(topology, topic.links, records(topic.links));
  const resolved = await decoded<ProfileEvent>(topology, topic.resolved, records(topic.resolved));
  const fromOthers = await decoded<ProfileEvent>(topology, topic.resolved, rerun);
  const count = (into: Map<string, number>, id: string, by: number) => into.set(id, (into.get(id) ?? 0) + by);
  const expected = new Map<string, number>();
  const reached = new Map<string, number>();
  for (const t of raw) count(expected, t.eventId, 1);
  // The engine's own requests on the link log (retention) are no raw record's.
  for (const t of links) if (!ENGINE_EVENTS.has(t.eventType)) count(reached, t.eventId, 1);
  for (const e of resolved) if (e.body.kind === 'touchpoint') count(reached, e.body.touchpoint.eventId, 1);
  // What the link task forwarded and the profile tasks re-addressed came from the ingest tasks once already.
  for (const e of fromOthers) if (e.body.kind === 'touchpoint') count(reached, e.body.touchpoint.eventId, -1);
  const problems: string[] = [];
  for (const id of new Set([...expected.keys(), ...reached.keys()])) {
    const want = expected.get(id) ?? 0;
    const got = reached.get(id) ?? 0;
    if (want !== got) problems.push(`${id}: ${want} raw, ${got} downstream`);
  }
  return finding(
    `${topic.raw}: every committed record reached identity.links or touchpoints.resolved once, or the DLQ (${raw.length} + ${dead.size} dead-lettered)`,
    problems,
    'event ids are lost or repeated',
  );
}

/**
 * The task store's writer-order state holds the offset its task had read to
 * (runtime/input-order.ts): an offset of the live log, which has transaction
 * markers between records, or of the re-run's, which has none. The rest of it
 * (the order cursor, each writer's progress) must agree.
 */
function withoutReadPositions(values: Map<string, string | null>): Map<string, string | null> {
  for (const [key, value] of values) {
    if (!key.endsWith('/order') || value === null) continue;
    const order = JSON.parse(Buffer.from(value, 'hex').toString('utf8')) as { input?: { readTo?: string } };
    delete order.input?.readTo;
    values.set(key, JSON.stringify(order));
  }
  return values;
}

async function decoded<T>(topology: Topology, name: string, records: readonly TopicRecord[]): Promise<T[]> {
  const source = topology.subTopologies.flatMap((s) => s.sources).find((s) => s.options.topic === name);
  if (!source) throw new Error(`no source reads ${name}`);
  const serde = source.options.value as Serde<T>;
  const values = records.flatMap((r) => (r.value ? [r.value] : []));
  await serde.prepare?.(name, values);
  return values.map((v) => serde.deserialize(name, v));
}

/** The golden run dead-lettered nothing: its input is valid, so a dead letter there is a processor breaking the driver's value checks. */
export function noDeadLetters(what: string, deadLetters: readonly string[]): Finding {
  return finding(`${what}: nothing dead-lettered (valid input, the driver's value checks on)`, deadLetters, 'records dead-lettered');
}

/** No id twice on a topic that exactly-once promises to write each id once. */
export function noRepeats(what: string, ids: readonly string[]): Finding {
  return finding(`${what}: no id twice`, repeatedIn(ids), 'ids appear more than once');
}

/**
 * A record id of `recordMultiset` as a reader can follow it back to the
 * log: topic, partition, key as text, headers (the writer order key says
 * which task wrote it and when), then the value's size and first bytes.
 */
export function describeRecordId(id: string): string {
  // Headers come last and may hold slashes (an order key is time/writer/seq).
  const parts = id.split('/');
  const [topic, partition, keyHex, valueHex] = parts;
  const headers = parts.slice(4).join('/');
  const key = keyHex === '-' ? 'null' : `'${Buffer.from(keyHex!, 'hex').toString('utf8')}'`;
  const value = valueHex === '-' ? 'null' : `${valueHex!.length / 2} B ${printable(Buffer.from(valueHex!.slice(0, 120), 'hex'))}…`;
  return `${topic} p${partition} key ${key}${headers ? ` [${headers}]` : ''} value ${value}`;
}

function printable(bytes: Buffer): string {
  return bytes.toString('latin1').replace(/[^\x20-\x7e]/g, '.');
}
