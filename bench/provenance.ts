/**
 * tsx bench/provenance.ts [--people 3000] [--days 30] [--seed 1]
 *
 * Sizing for reversible merges (issue 17): what the provenance a split
 * needs would cost per profile. The product runs in process over a
 * simulated population; from its own outputs the benchmark measures, per
 * merge (identity.audit), the state each side had at the merge (the
 * loser's last profile entry and the winner's entry just before it, from
 * the profiles changelog) and the touchpoints the merged profile received
 * after it within a horizon (touchpoints.resolved), and per profile the
 * bytes a provenance record would hold: both snapshots of every merge in
 * the horizon plus the touchpoints since the oldest of them. Then what the
 * engine keeps with the shipped identity.yaml `reversibleMerges` (merges on
 * the call-centre and branch channels only): the provenance in the profile
 * entries, at the end and at its peak per profile.
 */
import { join } from 'node:path';
import { loadProductConfig } from '../config/product';
import type { IdentityAudit } from '../processors/identity/audit';
import type { ProfileEvent } from '../processors/model/profile-event';
import { isForwarding } from '../processors/model/profile-state';
import { profileEntrySerde } from '../processors/profile/serde';
import { InProcessEngine } from '../runtime/in-process-engine';
import { InMemoryRegistry } from '../runtime/serde/registry';
import { createPopulation, TouchpointGenerator } from '../simulator';
import { buildTopology, topicNames } from '../topology';
import { option } from './support';

const DAY = 86_400_000;
const PARTITIONS = 4;
const BATCH = 1000;
const HORIZONS = [7, 30];

function quantiles(values: number[]): string {
  if (values.length === 0) return '-';
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return `${at(0.5).toLocaleString('en')} / ${at(0.95).toLocaleString('en')} / ${sorted[sorted.length - 1]!.toLocaleString('en')}`;
}

async function main(): Promise<void> {
  const people = Number(option('people', '3000'));
  const days = Number(option('days', '30'));
  const seed = Number(option('seed', '1'));
  const appId = 'bench-provenance';
  const config = loadProductConfig(join(__dirname, '..', 'config'));
  const topology = buildTopology({ appId, partitions: PARTITIONS, config, registry: new InMemoryRegistry() });
  const driver = await InProcessEngine.create(topology, { checkValues: false });
  const topics = topicNames();
  const generator = new TouchpointGenerator(createPopulation({ seed, people }), { days });
  let batch = 0;
  let touchpoints = 0;
  for (const t of generator) {
    driver.pipe(topics.raw, Buffer.from(t.identifiers[0]?.value ?? t.eventId), t, { timestamp: t.occurredAt });
    touchpoints++;
    if (++batch === BATCH) {
      await driver.run();
      batch = 0;
    }
  }
  await driver.run();

  // Each profile's entries in changelog order: [stream time of the commit, bytes, live profile or pointer].
  const history = new Map<string, { at: number; bytes: number; live: boolean; provenance: number }[]>();
  for (const r of driver.producedRecords) {
    if (r.topic !== `${appId}-profiles-changelog` || r.key === null) continue;
    const key = r.key.toString('utf8');
    const entry = r.value === null ? undefined : profileEntrySerde.deserialize(r.topic, r.value);
    const list = history.get(key) ?? [];
    const live = entry !== undefined && !isForwarding(entry);
    list.push({ at: r.timestamp, bytes: r.value?.length ?? 0, live, provenance: live && entry.provenance ? JSON.stringify(entry.provenance).length : 0 });
    history.set(key, list);
  }
  const liveAtEnd = [...history.values()].filter((list) => list[list.length - 1]!.live).length;
  const sizeBefore = (key: string, at: number): number => {
    const live = (history.get(key) ?? []).filter((h) => h.live && h.at <= at);
    return live[live.length - 1]?.bytes ?? 0;
  };
  const lastLive = (key: string): number => {
    const live = (history.get(key) ?? []).filter((h) => h.live);
    return live[live.length - 1]?.bytes ?? 0;
  };

  // Touchpoints each profile received, by event time, with their bytes on touchpoints.resolved.
  const received = new Map<string, { at: number; bytes: number }[]>();
  for (const o of driver.output<string, ProfileEvent>(topics.resolved)) {
    if (o.value === null || o.value.body.kind !== 'touchpoint') continue;
    const list = received.get(o.value.profileId) ?? [];
    list.push({ at: o.value.at, bytes: o.raw.value?.length ?? 0 });
    received.set(o.value.profileId, list);
  }

  const audited = driver.output<string, IdentityAudit>(topics.audit).flatMap((o) => (o.value?.kind === 'merge' && o.value.profileId && o.value.otherProfileId ? [o.value] : []));
  // A link event often brings an identifier never seen: the graph "merges" a profile that never
  // had state (no profile entry); a split has nothing to give back to such a side.
  const merges = audited.filter((m) => lastLive(m.otherProfileId!) > 0);
  const perWinner = new Map<string, IdentityAudit[]>();
  for (const m of merges) perWinner.set(m.profileId!, [...(perWinner.get(m.profileId!) ?? []), m]);
  const loserBytes = merges.map((m) => lastLive(m.otherProfileId!));
  const winnerBytes = merges.map((m) => sizeBefore(m.profileId!, m.at));

  console.log(`${touchpoints.toLocaleString('en')} touchpoints of ${people.toLocaleString('en')} simulated people over ${days} days (seed ${seed}); ${liveAtEnd.toLocaleString('en')} live profiles at the end`);
  console.log(`merges audited: ${audited.length.toLocaleString('en')}, of which ${merges.length.toLocaleString('en')} joined two profiles that both had state (the rest brought a new identifier's empty profile); profiles that absorbed at least one: ${perWinner.size.toLocaleString('en')} (${((100 * perWinner.size) / Math.max(liveAtEnd, 1)).toFixed(1)} % of live profiles); merges per such profile (p50 / p95 / max): ${quantiles([...perWinner.values()].map((l) => l.length))}`);
  console.log('| measure | p50 / p95 / max |');
  console.log('| --- | ---: |');
  console.log(`| loser's profile entry at the merge, bytes | ${quantiles(loserBytes)} |`);
  console.log(`| winner's profile entry before the merge, bytes | ${quantiles(winnerBytes)} |`);
  for (const horizon of HORIZONS) {
    const counts: number[] = [];
    const perProfile: number[] = [];
    for (const [winner, list] of perWinner) {
      const events = received.get(winner) ?? [];
      let snapshots = 0;
      let oldest = Infinity;
      for (const m of list) {
        const after = events.filter((e) => e.at > m.at && e.at <= m.at + horizon * DAY);
        counts.push(after.length);
        snapshots += lastLive(m.otherProfileId!) + sizeBefore(winner, m.at);
        oldest = Math.min(oldest, m.at);
      }
      const kept = events.filter((e) => e.at > oldest && e.at <= oldest + horizon * DAY).reduce((sum, e) => sum + e.bytes, 0);
      perProfile.push(snapshots + kept);
    }
    const total = perProfile.reduce((a, b) => a + b, 0);
    console.log(`| touchpoints within ${horizon} d after a merge | ${quantiles(counts)} |`);
    console.log(`| provenance per merged profile, ${horizon} d horizon, bytes | ${quantiles(perProfile)} |`);
    console.log(`| the same spread over every live profile, ${horizon} d horizon, bytes (mean) | ${Math.round(total / Math.max(liveAtEnd, 1)).toLocaleString('en')} |`);
  }

  const last = [...history.values()].map((list) => list[list.length - 1]!).filter((h) => h.live);
  const keeping = last.filter((h) => h.provenance > 0);
  const peaks = [...history.values()].map((list) => Math.max(...list.map((h) => h.provenance))).filter((b) => b > 0);
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  const reversible = config.identity.reversibleMerges;
  console.log('');
  console.log(`kept by the engine (identity.yaml reversibleMerges: ${reversible ? `linkChannels ${reversible.linkChannels.join(', ')}, horizon ${reversible.horizon}` : 'off'}):`);
  console.log('| measure | value |');
  console.log('| --- | ---: |');
  console.log(`| undoable merges (a merge instruction to the winner) | ${driver.output<string, ProfileEvent>(topics.resolved).filter((o) => o.value?.body.kind === 'merge' && o.value.body.winner === o.key).length.toLocaleString('en')} |`);
  console.log(`| live profiles holding provenance at the end | ${keeping.length.toLocaleString('en')} of ${last.length.toLocaleString('en')} |`);
  console.log(`| provenance per profile holding it at the end, bytes (p50 / p95 / max) | ${quantiles(keeping.map((h) => h.provenance))} |`);
  console.log(`| peak provenance per profile that ever held it, bytes (p50 / p95 / max) | ${quantiles(peaks)} |`);
  console.log(`| profile entries at the end, bytes (mean), of which provenance | ${Math.round(sum(last.map((h) => h.bytes)) / Math.max(last.length, 1)).toLocaleString('en')}, ${Math.round(sum(last.map((h) => h.provenance)) / Math.max(last.length, 1)).toLocaleString('en')} |`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
