import type { HostileRun } from './hostile-run';
import type { ProofRun } from './run';

/**
 * What a proof run must show, as problems (empty: proven). The golden
 * comparison is reported but only partly required: runtime/README.md
 * ("Live versus replay") says which outputs may differ between a live run
 * and a replay of the same input, and why.
 */
export function faultRunProblems(run: ProofRun, planned: number): string[] {
  const problems: string[] = [];
  if (run.faults.length !== planned) problems.push(`${run.faults.length} of ${planned} planned faults happened`);
  for (const f of run.findings) if (!f.ok) problems.push(`${f.check}: ${f.detail}${f.examples.length ? ` (e.g. ${f.examples.join('; ')})` : ''}`);
  if (run.privacy.hits.length > 0) problems.push(`raw PII found: ${run.privacy.hits.slice(0, 5).map((h) => `${h.kind} at ${h.where}`).join('; ')}`);
  if (run.privacy.scanned.records === 0 || run.privacy.scanned.databases === 0) problems.push('the PII scan read no topic records or no RocksDB database');
  return problems;
}

export function hostileRunProblems(run: HostileRun): string[] {
  const problems = [...run.account.problems];
  for (const p of run.partitions) {
    if (p.recordsIn !== p.produced) problems.push(`partition ${p.partition}: ${p.produced} records produced, ${p.recordsIn} counted in`);
    if (p.deadLettered !== p.expectedDeadLetters) problems.push(`partition ${p.partition}: ${p.expectedDeadLetters} dead letters expected, ${p.deadLettered} counted`);
  }
  if (run.probes.polls === 0) problems.push('the engine was never ready');
  if (run.probes.notReady > 0 || run.probes.unhealthy > 0) problems.push(`after it was first ready, ${run.probes.notReady} of ${run.probes.polls} /readyz and ${run.probes.unhealthy} /healthz polls said no`);
  for (const f of run.findings) if (!f.ok) problems.push(`${f.check}: ${f.detail}`);
  return problems;
}

/** The run as lines for a person: faults, checks, golden comparison, privacy. */
export function describeFaultRun(run: ProofRun): string[] {
  const lines = [`seed ${run.seed} · ${run.touchpoints} touchpoints · app ${run.appId} · ${run.seconds.toFixed(0)} s`, 'faults:'];
  for (const f of run.faults) lines.push(`  ${f.fault}: ${f.detail} (after ${f.committedAt} raw records committed)`);
  lines.push('exactly-once checks:');
  for (const f of run.findings) lines.push(`  ${f.ok ? 'ok  ' : 'FAIL'} ${f.check}${f.ok ? '' : `: ${f.detail}`}`);
  lines.push('live against the golden run (the same input on the driver):');
  for (const d of run.golden) lines.push(`  ${d.what}: golden ${d.golden}, live ${d.live}, missing ${d.missing.length}, extra ${d.extra.length}, repeated ${d.repeated.length}`);
  const outcomes = (o: Record<string, number>) => Object.entries(o).sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
  lines.push(`  decisions by outcome: golden ${outcomes(run.decisionOutcomes.golden)}; live ${outcomes(run.decisionOutcomes.live)}`);
  const s = run.privacy.scanned;
  lines.push(`raw PII: ${run.privacy.hits.length} hits in ${s.records} records, ${s.databases} RocksDB databases, ${s.files} files (${(s.bytes / 1e6).toFixed(1)} MB)`);
  return lines;
}

export function describeHostileRun(run: HostileRun): string[] {
  const lines = ['bad records by kind, and where each ended up:'];
  for (const [kind, where] of Object.entries(run.account.outcomes)) lines.push(`  ${kind.padEnd(34)} ${Object.entries(where).map(([w, n]) => `${w} ${n}`).join(', ')}`);
  lines.push(`records in = processed ${run.account.processed} + dead-lettered ${run.account.deadLettered}`);
  for (const p of run.partitions) lines.push(`  partition ${p.partition}: produced ${p.produced}, counted in ${p.recordsIn}, dead-lettered ${p.deadLettered} (expected ${p.expectedDeadLetters})`);
  lines.push(`readiness after first ready: ${run.probes.polls} polls, ${run.probes.notReady} not ready, ${run.probes.unhealthy} unhealthy`);
  return lines;
}
