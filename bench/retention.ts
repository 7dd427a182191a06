/**
 * tsx bench/retention.ts [--cohorts 12] [--people 300] [--active 60] [--every 91] [--inactive 60d] [--pointers 14d]
 *
 * State size over simulated years, with and without retention (profile.yaml
 * `retention`; issue 17). A population that comes and goes: every `every`
 * days a new cohort of `people` simulated people (a population of its own
 * seed) is active for `active` days, then silent for ever. The product
 * topology runs in process on RocksDB state, once with retention
 * (`inactiveAfter`, `forwardingPointersFor`) and once without; at the end of
 * each cohort period it prints the people active then, the profile store's
 * entries (profiles and forwarding pointers, as its changelog says), the
 * identity graph's identifiers, and the RocksDB bytes on disk before and
 * after compacting every task's database (a deleted key takes disk until
 * compaction drops its tombstone; RocksDB compacts in the background when
 * its levels fill, which a small state may never do).
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDuration } from '../config/duration';
import { loadProductConfig } from '../config/product';
import type { Touchpoint } from '../processors/model/touchpoint';
import { InProcessEngine } from '../runtime/in-process-engine';
import { InMemoryRegistry } from '../runtime/serde/registry';
import { RocksBacking } from '../runtime/state/rocks-backing';
import { createPopulation, TouchpointGenerator } from '../simulator';
import { buildTopology, topicNames, type ProductConfig } from '../topology';
import { option } from './support';

const DAY = 86_400_000;
const PARTITIONS = 4;
const BATCH = 1000;

interface Sample {
  day: number;
  active: number;
  entries: number;
  identifiers: number;
  bytes: number;
  compacted: number;
}

async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? await directoryBytes(path) : (await stat(path)).size;
  }
  return total;
}

/** Every cohort's touchpoints, in event-time order. */
function population(cohorts: number, people: number, activeDays: number, everyDays: number, start: number): Touchpoint[] {
  const all: Touchpoint[] = [];
  for (let c = 0; c < cohorts; c++) {
    const generator = new TouchpointGenerator(createPopulation({ seed: 100 + c, people }), { days: activeDays, start: start + c * everyDays * DAY });
    for (const t of generator) all.push(t);
  }
  return all.sort((a, b) => a.occurredAt - b.occurredAt);
}

async function run(label: string, config: ProductConfig, touchpoints: Touchpoint[], checkpoints: number[], activeAt: (day: number) => number, start: number): Promise<Sample[]> {
  const stateDir = await mkdtemp(join(tmpdir(), `lp-bench-retention-${label}-`));
  const topology = buildTopology({ appId: `bench-retention-${label}`, partitions: PARTITIONS, config, registry: new InMemoryRegistry() });
  const profilesChangelog = `bench-retention-${label}-profiles-changelog`;
  const identifiersChangelog = `bench-retention-${label}-identifiers-changelog`;
  const entries = new Set<string>();
  const identifiers = new Set<string>();
  const backings: RocksBacking[] = [];
  const driver = await InProcessEngine.create(topology, {
    backing: async (taskId) => {
      const backing = await RocksBacking.open(join(stateDir, taskId));
      backings.push(backing);
      return backing;
    },
    onOutput: (record) => {
      const set = record.topic === profilesChangelog ? entries : record.topic === identifiersChangelog ? identifiers : undefined;
      if (!set || record.key === null) return;
      const key = record.key.toString('latin1');
      if (record.value === null) set.delete(key);
      else set.add(key);
    },
  });
  const raw = topicNames().raw;
  const samples: Sample[] = [];
  let next = 0;
  const sample = async (at: number) => {
    const day = Math.round((at - start) / DAY);
    const bytes = await directoryBytes(stateDir);
    for (const backing of backings) await backing.compact();
    samples.push({ day, active: activeAt(day), entries: entries.size, identifiers: identifiers.size, bytes, compacted: await directoryBytes(stateDir) });
    process.stderr.write(`  ${label}: day ${day}: ${entries.size} profile entries, ${identifiers.size} identifiers\n`);
  };
  for (let i = 0; i < touchpoints.length; i += BATCH) {
    const batch = touchpoints.slice(i, i + BATCH);
    while (next < checkpoints.length && batch[0]!.occurredAt >= checkpoints[next]!) await sample(checkpoints[next++]!);
    for (const t of batch) driver.pipe(raw, Buffer.from(t.identifiers[0]?.value ?? t.eventId), t, { timestamp: t.occurredAt });
    await driver.run();
  }
  // After the last cohort: time passes with no one active, as it would for a bank whose customers all left.
  for (; next < checkpoints.length; next++) {
    await driver.advanceTime(checkpoints[next]!);
    await sample(checkpoints[next]!);
  }
  for (const backing of backings) await backing.close();
  await rm(stateDir, { recursive: true, force: true });
  return samples;
}

async function main(): Promise<void> {
  const cohorts = Number(option('cohorts', '12'));
  const people = Number(option('people', '300'));
  const activeDays = Number(option('active', '60'));
  const everyDays = Number(option('every', '91'));
  const inactive = option('inactive', '60d');
  const pointers = option('pointers', '14d');
  const base = loadProductConfig(join(__dirname, '..', 'config'));
  const start = Date.UTC(2023, 0, 1);
  const touchpoints = population(cohorts, people, activeDays, everyDays, start);
  const span = cohorts * everyDays + 2 * everyDays;
  const checkpoints = Array.from({ length: Math.floor(span / everyDays) }, (_, i) => start + (i + 1) * everyDays * DAY);
  // People of the cohorts active at some time in the period (day - every, day].
  const activeAt = (day: number) => people * Array.from({ length: cohorts }, (_, c) => c * everyDays).filter((from) => from < day && from + activeDays > day - everyDays).length;
  process.stderr.write(`${touchpoints.length} touchpoints, ${cohorts} cohorts of ${people} people, each active ${activeDays} days, one every ${everyDays} days\n`);
  const withRetention: ProductConfig = { ...base, profile: { ...base.profile, retention: { inactiveAfter: parseDuration(inactive), pointersFor: parseDuration(pointers) } } };
  const without: ProductConfig = { ...base, profile: { ...base.profile, retention: { inactiveAfter: null, pointersFor: null } } };
  const on = await run('on', withRetention, touchpoints, checkpoints, activeAt, start);
  const off = await run('off', without, touchpoints, checkpoints, activeAt, start);
  const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
  console.log(`retention inactiveAfter ${inactive}, forwardingPointersFor ${pointers}; ${touchpoints.length} touchpoints; ${cohorts} cohorts x ${people} people, active ${activeDays} d, one every ${everyDays} d`);
  console.log('| day | people active in the period | profile entries (on / off) | identifiers (on / off) | RocksDB MB (on / off) | after compaction MB (on / off) |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: |');
  for (let i = 0; i < on.length; i++) {
    const a = on[i]!;
    const b = off[i]!;
    console.log(`| ${a.day} | ${a.active} | ${a.entries} / ${b.entries} | ${a.identifiers} / ${b.identifiers} | ${mb(a.bytes)} / ${mb(b.bytes)} | ${mb(a.compacted)} / ${mb(b.compacted)} |`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
