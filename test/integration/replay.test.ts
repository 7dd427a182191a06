import { spawn } from 'node:child_process';
import { IDENTITY_GRAPH_STORE } from '../../processors/stores';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admin, Kafka } from 'kafkajs';
import pino from 'pino';
import { loadProductConfig } from '../../config/product';
import { stackEndpoints } from '../../local-stack/settings';
import { profileIdFor } from '../../processors/identity/identifiers';
import type { Touchpoint } from '../../processors/model/touchpoint';
import { loadRuleSet, runReplay, TopicRangeSource, type ReplayReport } from '../../replay';
import type { EngagementCommand, EngagementDecision } from '../../replay/records';
import { Engine } from '../../runtime/kafka/engine';
import { partitionForKey } from '../../runtime/kafka/partitioner';
import { createTopics } from '../../runtime/kafka/kafkajs/topics';
import { AvroSerde } from '../../runtime/serde/avro-serde';
import { ConfluentRegistry } from '../../runtime/serde/registry';
import { SchemaCatalog } from '../../runtime/serde/schema-catalog';
import { buildTopology, SCHEMAS_DIR, topicNames } from '../../topology';
import { productCaughtUp, readToEnd, testKafka, testProducer, uniqueName } from '../support/kafka';
import { eventually } from '../support/processes';
import { CONFIG_DIR, identifierKey, MINUTE, tp } from '../support/product';

/**
 * Replay against live: a recorded range of touchpoints.raw is run by the
 * live engine (4 partitions, exactly-once, production rules), then
 * replayed from the topic by time with the same rules; both must produce
 * the same commands (and decisions), by id.
 *
 * The input covers what must match (replay/README.md, "Live versus
 * replay"): single-identifier journeys (the bulk of traffic) with
 * event-type, sequence, absence and segment triggers, arbitration windows
 * and holdouts; and two people whose login merges an anonymous profile
 * into a known one, followed by more touchpoints of theirs. It is built
 * so that the per-task order of records is the same in both:
 *
 * - every profile's touchpoints are on the raw partition its profile id
 *   hashes to, so each profile task is fed by one raw partition, in order;
 * - each login is produced on its own, after the engine has processed
 *   everything before it, and the next touchpoints only after the merge
 *   reached the identity graph (in replay: at least one tick apart);
 * - a ticker on every partition moves stream time in small steps, so
 *   timers fire at the same record in both;
 * - wall-clock punctuation is on, as in production: it fires an idle
 *   task's due timers but does not move stream time, so it changes nothing
 *   here, where no partition idles past a deadline (runtime/README.md,
 *   "Two clocks").
 */
jest.setTimeout(300_000);

const PARTITIONS = 4;
const EUR = (minorUnits: number) => ({ minorUnits, currency: 'EUR' });

interface Produced {
  touchpoint: Touchpoint;
  partition: number;
}

const profileOf = (type: string, value: string) => profileIdFor(identifierKey(type, value));
const partitionOf = (profileId: string) => partitionForKey(Buffer.from(profileId), PARTITIONS);

/** The first value `make(i)` whose profile lands on `partition` (and satisfies `also`). */
function onPartition(partition: number, make: (i: number) => string, type: string, also: (value: string) => boolean = () => true): string {
  for (let i = 0; ; i++) {
    const value = make(i);
    if (partitionOf(profileOf(type, value)) === partition && also(value)) return value;
  }
}

describe('replay of a recorded range against the live engine', () => {
  let kafka: Kafka;
  let admin: Admin;
  let registry: ConfluentRegistry;
  const appId = uniqueName('replay-it');
  const prefix = `${appId}.`;
  const topics = topicNames(prefix);
  const produced: Produced[] = [];
  let live: { commands: EngagementCommand[]; decisions: EngagementDecision[] };
  const expected = { lowBalance: [] as string[] };

  beforeAll(async () => {
    kafka = testKafka();
    admin = kafka.admin();
    await admin.connect();
    registry = new ConfluentRegistry(stackEndpoints().registryUrl);
    const catalog = SchemaCatalog.load(SCHEMAS_DIR);
    const topology = buildTopology({ appId, partitions: PARTITIONS, config: loadProductConfig(CONFIG_DIR), registry, topicPrefix: prefix });
    await createTopics(admin, topology, { registry, catalog });

    // --- the recorded range ------------------------------------------------------------------------
    const base = Math.floor((Date.now() - 2 * 60 * MINUTE) / 1000) * 1000;
    const all: Produced[] = [];
    const add = (partition: number, touchpoint: Touchpoint) => all.push({ touchpoint, partition });
    for (let p = 0; p < PARTITIONS; p++) {
      // the ticker: a visitor on this partition every minute, so stream time moves in small steps
      const ticker = onPartition(p, (i) => `tick-${appId}-${i}`, 'anonymous_id');
      for (let m = 0; m <= 45; m++) add(p, tp(base + m * MINUTE, 'web', 'page_view', { anonymous_id: ticker }, { sessionId: `tick-${p}-${m}` }));
      // an account alert (event trigger, arbitration window, no holdout)
      const customer = onPartition(p, (i) => `LOW-${appId}-${i}`, 'customer_id');
      expected.lowBalance.push(profileOf('customer_id', customer));
      add(p, tp(base + 2 * MINUTE + 7_000 + p * 1000, 'app', 'bill_payment', { customer_id: customer }, { sessionId: `app-${p}`, amount: EUR(2500), balance: EUR(4000) }));
      // three searches on the web with marketing consent (sequence trigger, holdout 10%)
      const searcher = onPartition(p, (i) => `searcher-${appId}-${i}`, 'anonymous_id');
      add(p, tp(base + 3 * MINUTE + 5_000, 'web', 'consent_updated', { anonymous_id: searcher }, { consent: { channel: 'web', purpose: 'marketing', granted: true } }));
      for (let s = 0; s < 3; s++) add(p, tp(base + 3 * MINUTE + 20_000 + s * 40_000, 'web', 'search', { anonymous_id: searcher }, { sessionId: `search-${p}`, searchTerms: `loan ${s}` }));
      // a cart left behind by a shopper known by email (absence trigger: decided at the ticker 32 minutes later)
      const shopper = onPartition(p, (i) => `shopper${i}@${appId}.test`, 'email');
      add(p, tp(base + 4 * MINUTE + 3_000, 'web', 'consent_updated', { email: shopper }, { consent: { channel: 'email', purpose: 'marketing', granted: true } }));
      add(p, tp(base + 5 * MINUTE + 9_000, 'web', 'add_to_cart', { email: shopper }, { sessionId: `cart-${p}`, page: { path: '/products/kettle', category: 'kitchen', product: 'kettle', depth: 2, scrollPercent: null, dwellMs: null } }));
      // mortgage pages: segment entered, then the banner trigger
      const reader = onPartition(p, (i) => `reader-${appId}-${i}`, 'anonymous_id');
      add(p, tp(base + 6 * MINUTE + 2_000, 'web', 'consent_updated', { anonymous_id: reader }, { consent: { channel: '*', purpose: 'marketing', granted: true } }));
      for (let v = 0; v < 4; v++) {
        const path = v === 3 ? '/mortgages/calculator' : `/mortgages/rates-${v}`;
        add(p, tp(base + 6 * MINUTE + 30_000 + v * 20_000, 'web', 'page_view', { anonymous_id: reader }, { sessionId: `read-${p}`, page: { path, category: 'mortgages', product: null, depth: v, scrollPercent: null, dwellMs: null } }));
      }
    }
    // two people who log in, merging their anonymous profile into their customer profile (both on one partition)
    for (const k of [0, 1]) {
      const p = k + 1;
      const anon = onPartition(p, (i) => `cookie-${k}-${appId}-${i}`, 'anonymous_id');
      const customer = onPartition(p, (i) => `C-${k}-${appId}-${i}`, 'customer_id');
      // both are new to the identity graph at the login: a tie on first seen, the smaller id wins
      expected.lowBalance.push([profileOf('anonymous_id', anon), profileOf('customer_id', customer)].sort()[0]!);
      for (let v = 0; v < 3; v++) add(p, tp(base + 8 * MINUTE + k * 3_000 + v * 30_000, 'web', 'page_view', { anonymous_id: anon }, { sessionId: `pre-${k}` }));
      const loginAt = base + (20 + 2 * k) * MINUTE + 30_000;
      add(p, tp(loginAt, 'web', 'login', { customer_id: customer, anonymous_id: anon }, { authenticated: true, sessionId: `login-${k}` }));
      add(p, tp(loginAt + 40_000, 'web', 'page_view', { anonymous_id: anon }, { sessionId: `post-${k}` }));
      add(p, tp(loginAt + 2 * MINUTE + 5_000, 'app', 'bill_payment', { customer_id: customer }, { sessionId: `app-k${k}`, amount: EUR(2500), balance: EUR(3000) }));
    }
    // in event-time order (each partition in order), cut into phases: each login alone in its own
    all.sort((a, b) => a.touchpoint.occurredAt - b.touchpoint.occurredAt);
    const phases: Produced[][] = [[]];
    for (const r of all) {
      if (r.touchpoint.eventType === 'login') phases.push([r], []);
      else phases[phases.length - 1]!.push(r);
    }
    expect(phases.map((ph) => ph.length)).toEqual([expect.any(Number), 1, expect.any(Number), 1, expect.any(Number)]);

    // --- the live engine, phase by phase ----------------------------------------------------------
    const engine = new Engine(topology, {
      kafka: { brokers: stackEndpoints().brokers },
      stateDir: await mkdtemp(join(tmpdir(), 'lp-replay-live-')),
      guarantee: 'exactly_once',
      commitIntervalMs: 100,
      maxUncommittedRecords: 10_000,
      cacheEntriesPerStore: 10_000,
      partitionsConsumedConcurrently: PARTITIONS,
      sessionTimeoutMs: 6_000,
      wallClockPunctuation: true,
      advertisedEndpoint: 'localhost:0',
      log: pino({ level: 'silent' }),
    });
    const serde = new AvroSerde<Touchpoint>(registry, catalog.type('Touchpoint'));
    await serde.init(topics.raw);
    const producer = testProducer(kafka);
    await producer.connect();
    await engine.start();
    try {
      for (const phase of phases) {
        await producer.send({
          topic: topics.raw,
          messages: phase.map(({ touchpoint, partition }) => ({
            key: touchpoint.identifiers[0]!.value,
            value: serde.serialize(topics.raw, touchpoint),
            partition,
            timestamp: String(touchpoint.occurredAt),
          })),
        });
        produced.push(...phase);
        await eventually(
          () => productCaughtUp(admin, appId, topics),
          'the engine to process the phase',
        );
        const login = phase.find((r) => r.touchpoint.eventType === 'login');
        if (login) {
          // the merge has reached the identity graph every resolver reads
          const graph = engine.globalTable<string>(IDENTITY_GRAPH_STORE)!;
          const keys = login.touchpoint.identifiers.map((id) => identifierKey(id.type, id.value));
          await eventually(async () => {
            const owners = await Promise.all(keys.map((key) => graph.get(key)));
            return owners.every((o) => o !== undefined && o === owners[0]);
          }, 'the login to be in the identity graph');
        }
      }
    } finally {
      await producer.disconnect();
      await engine.stop();
    }
    live = { commands: await read<EngagementCommand>(topics.commands, 'EngagementCommand'), decisions: await read<EngagementDecision>(topics.decisions, 'EngagementDecision') };
  });

  afterAll(async () => {
    await admin?.disconnect();
  });

  async function read<T>(topic: string, type: string): Promise<T[]> {
    const messages = await readToEnd(kafka, topic);
    const serde = new AvroSerde<T>(registry, SchemaCatalog.load(SCHEMAS_DIR).type(type));
    await serde.prepare(topic, messages.map((m) => m.value));
    return messages.map((m) => serde.deserialize(topic, m.value!));
  }

  const range = () => {
    const times = produced.map((r) => r.touchpoint.occurredAt);
    return { from: Math.min(...times), to: Math.max(...times) + 1 };
  };

  it('replays the range from the topic to the same commands and decisions as the live engine, by id', async () => {
    const topicsBefore = (await admin.listTopics()).sort();
    const commandsBefore = await admin.fetchTopicOffsets(topics.commands);
    const replayed = { commands: [] as string[], decisions: [] as string[] };
    const { report, complete } = await runReplay({
      source: new TopicRangeSource({ kafka, registry, topic: topics.raw, ...range() }),
      variants: [{ name: 'baseline', rules: loadRuleSet('baseline', CONFIG_DIR) }],
      stateDir: await mkdtemp(join(tmpdir(), 'lp-replay-state-')),
      appId: `${appId}-replay`,
      onOutput: (_variant, record) => {
        const id = record.value?.subarray(5);
        if (!id) return;
        if (record.topic === 'engagement.commands') replayed.commands.push(SchemaCatalog.load(SCHEMAS_DIR).type('EngagementCommand').fromBuffer(id).commandId);
        if (record.topic === 'engagement.decisions') replayed.decisions.push(SchemaCatalog.load(SCHEMAS_DIR).type('EngagementDecision').fromBuffer(id).decisionId);
      },
    });
    expect(complete).toBe(true);
    expect(report.input).toMatchObject({ kind: 'topic', records: produced.length, undecodable: 0, partitions: PARTITIONS });

    // the live engine did its job: every low-balance customer, the two who logged in included, got an alert
    const alerted = live.commands.filter((c) => c.triggerId === 'low_balance_after_bill').map((c) => c.profileId);
    expect(alerted.sort()).toEqual([...expected.lowBalance].sort());
    expect(live.commands.length).toBeGreaterThanOrEqual(PARTITIONS + 2);
    expect(new Set(live.commands.map((c) => c.triggerId)).size).toBeGreaterThanOrEqual(2);

    const triggers = (list: { triggerId: string }[]) => [...new Set(list.map((c) => c.triggerId))].sort().join(', ');
    process.stderr.write(`live: ${live.commands.length} commands (${triggers(live.commands)}), ${live.decisions.length} decisions (${triggers(live.decisions)}); replayed: ${replayed.commands.length} and ${replayed.decisions.length}\n`);
    expect(replayed.commands.sort()).toEqual(live.commands.map((c) => c.commandId).sort());
    expect(replayed.decisions.sort()).toEqual(live.decisions.map((d) => d.decisionId).sort());
    expect(report.variants[0]!.totals.commands).toBe(live.commands.length);

    // isolated: nothing written to Kafka, no topic created
    expect((await admin.listTopics()).sort()).toEqual(topicsBefore);
    expect(await admin.fetchTopicOffsets(topics.commands)).toEqual(commandsBefore);
  });

  it('writes a variant to prefixed topics from the command line, and refuses to mix a second run into them', async () => {
    const rules = await mkdtemp(join(tmpdir(), 'lp-replay-variant-'));
    const triggers = (await readFile(join(CONFIG_DIR, 'triggers.yaml'), 'utf8')).replace('  - id: low_balance_after_bill\n', '  - id: low_balance_after_bill\n    enabled: false\n');
    expect(triggers).toContain('enabled: false');
    await writeFile(join(rules, 'triggers.yaml'), triggers);
    const outputPrefix = `${prefix}variant.`;
    const out = await mkdtemp(join(tmpdir(), 'lp-replay-out-'));
    const { from, to } = range();
    const args = ['--from', new Date(from).toISOString(), '--to', new Date(to).toISOString(), '--topic', topics.raw, '--rules', rules, '--out', out, '--output-prefix', outputPrefix, '--quiet'];
    const first = await cli(args);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as ReplayReport;
    const [baseline, variant] = report.variants;
    expect(baseline!.totals.commands).toBe(live.commands.length);
    expect(variant!.topicPrefix).toBe(outputPrefix);
    expect(report.diff!.byTrigger.find((t) => t.triggerId === 'low_balance_after_bill')).toMatchObject({ lost: expected.lowBalance.length, lostBecause: { not_fired: expected.lowBalance.length } });

    const written = await read<EngagementCommand>(topicNames(outputPrefix).commands, 'EngagementCommand');
    expect(written).toHaveLength(variant!.totals.commands);
    expect(written.some((c) => c.triggerId === 'low_balance_after_bill')).toBe(false);
    expect(new Set(written.map((c) => c.commandId))).toEqual(new Set(live.commands.filter((c) => c.triggerId !== 'low_balance_after_bill').map((c) => c.commandId)));

    const second = await cli(args);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain('output topics already hold records from an earlier run');
    expect(second.stderr).toContain(`${outputPrefix}engagement.commands (${written.length})`);
  });
});

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const root = join(__dirname, '..', '..');
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'cli', 'replay.ts'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}
