import { formatDuration } from '../config/duration';
import { MIN_EXPOSURES_PER_GROUP } from '../processors/outcomes/lift';
import type { ResponderStats } from '../simulator/responder';
import type { IdentityAccuracy, LiftAgainstTruth } from './accuracy';
import type { TallySnapshot } from './tally';

/** Everything one screen of the demo shows; also what `--summary-json` writes at the end. */
export interface DemoStatus {
  runId: string;
  topicPrefix: string;
  seed: number;
  people: number;
  /** Target touchpoints per second (null: as fast as possible). */
  rate: number | null;
  days: number;
  phase: 'starting' | 'running' | 'period complete' | 'draining' | 'stopped';
  wallSeconds: number;
  /** `aheadMs`: the pacing allowance (null: unpaced); `sentUntil`/`processedUntil`: event time of the latest touchpoint sent / that the engine has processed everything up to. */
  simulated: { start: number; end: number; clock: number; speed: number | null; aheadMs: number | null; sentUntil: number; processedUntil: number };
  engine: { ready: boolean; tasks: number; restoring: number };
  touchpoints: { produced: number; processed: number; producedPerSecond: number; processedPerSecond: number; deadLettered: number; forwarded: number };
  outputs: TallySnapshot;
  responder: ResponderStats & { outcomesProduced: number };
  look: { url: string; token: string; example: { type: string; value: string; profileId: string } | null };
  logFile: string;
}

export interface FinalReport {
  status: DemoStatus;
  identity: IdentityAccuracy | null;
  lift: LiftAgainstTruth[];
  truthFile: string | null;
}

const n = (x: number) => Math.round(x).toLocaleString('en-US');
const pct = (x: number | null) => (x === null ? '  -  ' : `${(x * 100).toFixed(1)}%`);
const pts = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}`;
const list = (counts: Record<string, number>, max = 8) => {
  const entries = Object.entries(counts);
  if (entries.length === 0) return 'none yet';
  const shown = entries.slice(0, max).map(([k, v]) => `${k} ${n(v)}`);
  return entries.length > max ? `${shown.join(' · ')} · +${entries.length - max} more` : shown.join(' · ');
};
const pad = (s: string, width: number) => (s.length >= width ? s : s + ' '.repeat(width - s.length));
const lpad = (s: string, width: number) => (s.length >= width ? s : ' '.repeat(width - s.length) + s);

function clock(seconds: number): string {
  const s = Math.floor(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

function simulatedTime(status: DemoStatus): string {
  const { start, end, clock: at, speed } = status.simulated;
  const day = (at - start) / 86_400_000;
  const when = new Date(at).toISOString().slice(0, 16).replace('T', ' ');
  const total = (end - start) / 86_400_000;
  const pace = speed !== null && speed > 1 ? `, ~${n(speed)}x real time` : '';
  return `simulated ${when} UTC (day ${Math.min(day, total).toFixed(1)} of ${total}${pace})`;
}

function pacing(status: DemoStatus): string {
  const { aheadMs, sentUntil, processedUntil } = status.simulated;
  const behind = `the engine has processed everything up to ${formatDuration(Math.max(0, sentUntil - processedUntil))} of event time behind the feed`;
  if (aheadMs === null) return `unpaced: ${behind} (--ahead paces the feed)`;
  return `paced at most ${formatDuration(aheadMs)} ahead: ${behind}`;
}

/** The live summary: one screen, redrawn about once a second. */
export function renderStatus(status: DemoStatus): string {
  const o = status.outputs;
  const t = status.touchpoints;
  const lines: string[] = [];
  const rate = status.rate === null ? 'as fast as possible' : `target ${n(status.rate)} touchpoints/s`;
  lines.push(`Listening Post demo · run ${status.runId} · seed ${status.seed}, ${n(status.people)} people, ${rate}`);
  const engine = status.engine.ready ? `engine ready (${status.engine.tasks} tasks)` : status.engine.restoring > 0 ? `engine restoring ${status.engine.restoring} tasks` : 'engine starting';
  lines.push(`wall ${clock(status.wallSeconds)} · ${simulatedTime(status)} · ${engine} · ${status.phase}`);
  lines.push(pacing(status));
  lines.push('');
  lines.push(
    `touchpoints  ${n(t.produced)} produced · ${n(t.processed)} processed (committed) · ${n(t.processedPerSecond)}/s processed · ${n(t.producedPerSecond)}/s produced · ${n(t.deadLettered)} dead-lettered`,
  );
  const refused = ['conflict', 'limit', 'untrusted'].filter((k) => (o.audit[k] ?? 0) > 0).map((k) => `${k} ${n(o.audit[k]!)}`);
  lines.push(
    `profiles     ${n(o.profiles.total)} (${n(o.profiles.known)} known · ${n(o.profiles.anonymous)} anonymous) · ${n(o.audit.merge ?? 0)} merges · refused links: ${refused.length > 0 ? refused.join(', ') : 'none'} · ${n(t.forwarded)} records forwarded to a merged profile`,
  );
  lines.push(`segments     ${list(o.segments)}`);
  lines.push(`commands     ${n(o.commands)} sent${o.commands > 0 ? `: ${list(o.commandsByChannel)}` : ''}${o.duplicateCommands > 0 ? ` (${n(o.duplicateCommands)} redelivered)` : ''}`);
  const width = Math.max(26, ...o.triggers.map((x) => x.triggerId.length + 2));
  for (const trigger of o.triggers) {
    if (trigger.commands === 0) continue;
    lines.push(`  ${pad(trigger.triggerId, width)}${lpad(n(trigger.commands), 7)}  ${list(trigger.byChannel, 4)}`);
  }
  lines.push(`not sent     ${n(o.decisions)}${o.decisions > 0 ? `: ${list(o.decisionsByOutcome, 10)}` : ''}`);
  if (o.lift.length === 0) lines.push('lift so far  no exposures measured yet');
  else {
    lines.push(`lift so far  ${pad('trigger', width)}${lpad('treated', 9)} ${lpad('conv', 7)} ${lpad('control', 9)} ${lpad('conv', 7)}  ${lpad('lift', 7)}  95% CI (points)`);
    for (const l of o.lift) {
      const e = l.estimate;
      const lift = e.lift === null ? lpad('-', 7) : lpad(pts(e.lift), 7);
      const ci = e.ci95 ? `[${pts(e.ci95[0])}, ${pts(e.ci95[1])}]${e.enoughData ? '' : ' not enough data'}` : l.control === 0 ? 'no control group' : '';
      lines.push(`             ${pad(l.triggerId, width)}${lpad(n(l.treated), 9)} ${lpad(pct(e.treatedRate), 7)} ${lpad(n(l.control), 9)} ${lpad(pct(e.controlRate), 7)}  ${lift}  ${ci}`);
    }
  }
  const r = status.responder;
  lines.push(
    `people       answered ${n(r.commands)} commands (${n(r.converted)} converted, ${n(r.dismissed)} dismissed) and ${n(r.decisions)} held-out decisions (${n(r.controlConverted)} converted): ${n(r.outcomesProduced)} outcome touchpoints back in`,
  );
  lines.push('');
  lines.push(...lookNext(status));
  return lines.join('\n');
}

/** The console's address with the token in the fragment: the page keeps it for the session, and it never reaches a server log. */
export function consoleUrl(url: string, token: string): string {
  return `${url}/console/#token=${encodeURIComponent(token)}`;
}

function lookNext(status: DemoStatus): string[] {
  const { url, token, example } = status.look;
  const lines = [`look next    console    ${consoleUrl(url, token)}`];
  lines.push(`             metrics    ${url}/metrics   (also ${url}/readyz, ${url}/healthz, ${url}/openapi.json)`);
  if (example) {
    lines.push(`             person     ${url}/console/profiles/${encodeURIComponent(example.profileId)}   (in the browser that opened the console)`);
    const auth = `-H 'Authorization: Bearer ${token}'`;
    lines.push(`             profile    curl -s ${auth} ${url}/profiles/by-identifier/${example.type}/${encodeURIComponent(example.value)}`);
    lines.push(`                        curl -s ${auth} ${url}/profiles/${example.profileId}`);
  } else lines.push('             profile    (an example with a real identifier appears with the first command)');
  lines.push(`             topics     ${status.topicPrefix}touchpoints.raw, ${status.topicPrefix}engagement.commands, ... · engine log ${status.logFile}`);
  return lines;
}

/** The end of a run: the last summary, then the engine against the ground truth. */
export function renderFinal(report: FinalReport): string {
  const lines = [renderStatus(report.status), ''];
  lines.push(...renderAccuracy(report));
  return lines.join('\n');
}

export function renderAccuracy(report: Pick<FinalReport, 'identity' | 'lift'>): string[] {
  const lines: string[] = [];
  const id = report.identity;
  if (id) {
    const s = id.person;
    lines.push(
      `identity     pairwise precision ${s.precision.toFixed(4)} · recall ${s.recall.toFixed(4)} (person) / ${id.provable.recall.toFixed(4)} (provable links) · F1 ${s.f1.toFixed(4)}`,
    );
    lines.push(
      `             ${n(s.identifiers)} identifiers of the ground truth, ${n(id.graphEntries)} in the identity graph; pairs: ${n(s.predictedPairs)} put together, ${n(s.correctPairs)} correct, ${n(s.truePairs)} true`,
    );
  } else lines.push('identity     not measured (the run stopped before the engine had linked every touchpoint sent)');
  if (report.lift.length === 0) lines.push('lift vs truth  no exposures measured');
  else {
    const width = Math.max(26, ...report.lift.map((l) => l.triggerId.length + 2));
    lines.push(`lift vs truth ${pad('trigger', width)}${lpad('treated', 8)}${lpad('control', 8)}  ${lpad('measured', 9)}  ${pad('95% CI', 16)}  ${lpad('true', 6)}  ${lpad('base', 6)}`);
    for (const l of report.lift) {
      const e = l.estimate;
      const measured = e.lift === null ? '-' : pts(e.lift);
      const ci = e.ci95 ? `[${pts(e.ci95[0])}, ${pts(e.ci95[1])}]` : l.control === 0 ? 'no control group' : '-';
      const verdict = l.withinCi === null ? '' : !e.enoughData ? `not enough data (under ${MIN_EXPOSURES_PER_GROUP} people in a group)` : l.withinCi ? 'true value inside the CI' : 'true value OUTSIDE the CI';
      lines.push(
        `              ${pad(l.triggerId, width)}${lpad(n(l.treated), 8)}${lpad(n(l.control), 8)}  ${lpad(measured, 9)}  ${pad(ci, 16)}  ${lpad(pts(l.trueUplift), 6)}  ${lpad(pct(l.baseRate), 6)}  ${verdict}`,
      );
    }
    lines.push('              (lift in percentage points of conversion; true = the simulator\'s uplift, base = its conversion rate without engagement)');
  }
  return lines;
}
