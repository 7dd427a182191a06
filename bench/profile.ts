/**
 * npm run bench:profile [-- --people 5000 --days 30]
 *
 * In process, no broker: the cost per touchpoint of the profile task's
 * logic (profile + the 5 scores of config/scoring.yaml + 30 segment rules:
 * config/segments.yaml's rules repeated under other names up to 30), and
 * the bytes one profile takes in the store for a month of simulated history.
 *
 * The cost is measured as differences between runs of the driver over the
 * same records: a processor that does nothing (decoding, the store cache
 * and the driver's own work), the profile chain with a store that never
 * encodes, and the real chain (the difference is the commit-time encoding
 * of changed profiles). Each figure is the median over batches of 1000.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { parseEventId, createPopulation, TouchpointGenerator } from '../simulator';
import { profileEventFromWire, profileEventToWire, type ProfileEvent, type ProfileEventWire } from '../processors/model/profile-event';
import type { ProfileEntry } from '../processors/model/profile-state';
import { loadProfileConfig } from '../processors/profile/config';
import { PROFILE_OUTPUTS, ProfileProcessor } from '../processors/profile/profile-processor';
import { PROFILES_STORE } from '../processors/stores';
import { profileEntrySerde } from '../processors/profile/serde';
import { loadScoringModel } from '../processors/scoring/config';
import { SCORING_OUTPUTS, ScoringProcessor } from '../processors/scoring/scoring-processor';
import { loadSegmentRules } from '../processors/segmentation/config';
import { SEGMENTATION_OUTPUTS, SegmentationProcessor } from '../processors/segmentation/segmentation-processor';
import { InProcessEngine } from '../runtime/in-process-engine';
import { AvroSerde } from '../runtime/serde/avro-serde';
import { InMemoryRegistry } from '../runtime/serde/registry';
import { SchemaCatalog } from '../runtime/serde/schema-catalog';
import { mapSerde, stringSerde, type Serde } from '../runtime/serde/serde';
import { TopologyBuilder } from '../runtime/topology';
import { SCHEMAS_DIR } from '../topology';
import { ProgressBar } from '../cli/progress';
import { option } from './support';

const CONFIG = join(__dirname, '..', 'config');
const BATCH = 1000;
const SEGMENT_RULES = 30;

/** Outputs the benchmark does not look at cost nothing to write. */
const discard: Serde<unknown> = { name: 'discard', serialize: () => Buffer.alloc(0), deserialize: () => null };

function thirtySegmentRules(): string {
  const doc = parse(readFileSync(join(CONFIG, 'segments.yaml'), 'utf8')) as { segments: Record<string, unknown> };
  const originals = Object.entries(doc.segments);
  for (let i = 0; Object.keys(doc.segments).length < SEGMENT_RULES; i++) {
    const [name, rule] = originals[i % originals.length]!;
    doc.segments[`${name}_copy${Math.floor(i / originals.length) + 1}`] = rule;
  }
  const file = join(mkdtempSync(join(tmpdir(), 'lp-bench-')), 'segments.yaml');
  writeFileSync(file, stringify(doc));
  return file;
}

/**
 * A profile store that never serialises (the cache holds every profile for
 * the whole run): what the chain costs without its commit-time encoding.
 */
const unserialised: Serde<ProfileEntry> = {
  name: 'unserialised',
  serialize: () => Buffer.alloc(1),
  deserialize: () => {
    throw new Error('the benchmark cache must hold every profile');
  },
};

type Run = 'driver only' | 'chain' | 'chain without encoding';

function topology(run: Run) {
  const scoring = loadScoringModel(join(CONFIG, 'scoring.yaml'));
  const segments = loadSegmentRules(thirtySegmentRules(), scoring);
  const registry = new InMemoryRegistry();
  const events = mapSerde<ProfileEvent, ProfileEventWire>(
    new AvroSerde(registry, SchemaCatalog.load(SCHEMAS_DIR).type('ProfileEvent')),
    profileEventToWire,
    profileEventFromWire,
  );
  const builder = new TopologyBuilder('bench-profile', 1)
    .topic({ name: 'resolved', doc: 'input' })
    .topic({ name: 'out', doc: 'discarded' })
    .source('resolved', { topic: 'resolved', key: stringSerde, value: events, eventTime: (e) => e.at })
    .store(PROFILES_STORE, { value: run === 'chain' ? profileEntrySerde : unserialised, cacheEntries: 1_000_000 });
  if (run === 'driver only') {
    return builder.processor('nothing', () => ({ prefetch: (r) => [[PROFILES_STORE, r.key as string]], process: () => undefined }), { from: 'resolved', outputs: [], stores: [PROFILES_STORE] }).build();
  }
  return builder
    .processor('profile', () => new ProfileProcessor(loadProfileConfig(join(CONFIG, 'profile.yaml'))), { from: 'resolved', outputs: PROFILE_OUTPUTS, stores: [PROFILES_STORE] })
    .sink('to-resolved', { topic: 'out', key: stringSerde, value: discard, from: 'profile' })
    .sink('outcomes', { topic: 'out', key: stringSerde, value: discard, from: 'profile' })
    .processor('scoring', () => new ScoringProcessor(scoring), { from: 'profile', outputs: SCORING_OUTPUTS })
    .processor('segmentation', () => new SegmentationProcessor(segments), { from: 'scoring', outputs: SEGMENTATION_OUTPUTS, stores: [PROFILES_STORE] })
    .sink('to-membership', { topic: 'out', key: stringSerde, value: discard, from: ['segmentation', 'profile'] })
    .sink('profile-view', { topic: 'out', key: stringSerde, value: discard, from: ['segmentation', 'profile'] })
    .sink('triggers', { topic: 'out', key: stringSerde, value: discard, from: 'segmentation' })
    .build();
}

async function timeBatches(events: ProfileEvent[], run: Run): Promise<{ perTouchpoint: number[]; driver: InProcessEngine }> {
  const driver = await InProcessEngine.create(topology(run), { cacheEntries: 1_000_000, checkValues: false });
  const perTouchpoint: number[] = [];
  const total = events.length;
  const progress = new ProgressBar({ label: run, unit: 'touchpoints' });
  for (let i = 0; i < events.length; i += BATCH) {
    const batch = events.slice(i, i + BATCH);
    for (const e of batch) driver.pipe('resolved', e.profileId, e, { timestamp: e.at });
    const started = process.hrtime.bigint();
    await driver.run();
    perTouchpoint.push(Number(process.hrtime.bigint() - started) / 1000 / batch.length);
    progress.update({ count: i + batch.length, total });
  }
  progress.finish({ count: total, total });
  return { perTouchpoint, driver };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))]!;

async function main(): Promise<void> {
  const people = Number(option('people', '5000'));
  const days = Number(option('days', '30'));
  const generator = new TouchpointGenerator(createPopulation({ seed: 7, people }), { days });
  const events: ProfileEvent[] = [];
  for (let t = generator.take(); t; t = generator.take()) {
    const person = parseEventId(t.eventId)?.person ?? 0;
    events.push({ profileId: `p-${person}`, at: t.occurredAt, body: { kind: 'touchpoint', touchpoint: t } });
  }
  // Warm up both paths (JIT) on a slice before measuring.
  await timeBatches(events.slice(0, 20 * BATCH), 'chain');
  const baseline = await timeBatches(events, 'driver only');
  const logic = await timeBatches(events, 'chain without encoding');
  const full = await timeBatches(events, 'chain');

  const sizes: number[] = [];
  const jsonSizes: number[] = [];
  for (let p = 0; p < people; p++) {
    const entry = await full.driver.storeValue<ProfileEntry>(PROFILES_STORE, `p-${p}`);
    if (!entry) continue;
    sizes.push(profileEntrySerde.serialize(PROFILES_STORE, entry).length + `p-${p}`.length);
    jsonSizes.push(Buffer.byteLength(JSON.stringify(entry)));
  }
  const cost = median(logic.perTouchpoint) - median(baseline.perTouchpoint);
  const encoding = median(full.perTouchpoint) - median(logic.perTouchpoint);
  console.log(`\ntouchpoints: ${events.length.toLocaleString('en-US')} for ${people} people over ${days} days; ${SEGMENT_RULES} segment rules, 5 scores`);
  console.log(`per touchpoint, median over batches of ${BATCH}: chain ${median(full.perTouchpoint).toFixed(2)} µs, chain without encoding ${median(logic.perTouchpoint).toFixed(2)} µs, driver alone ${median(baseline.perTouchpoint).toFixed(2)} µs`);
  console.log(`profile + 5 scores + ${SEGMENT_RULES} segment rules: ${cost.toFixed(2)} µs per touchpoint (goal <= 10 µs)`);
  console.log(`encoding the profile at commit: ${encoding.toFixed(2)} µs per touchpoint (a profile touched several times between commits is encoded once)`);
  console.log(`bytes per profile in the store (key + value): median ${median(sizes)}, p95 ${percentile(sizes, 0.95)}, max ${Math.max(...sizes)} (goal <= 2048); as JSON it would be median ${median(jsonSizes)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
