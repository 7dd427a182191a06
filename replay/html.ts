import type { DiffExample, FiringSide } from './diff';
import type { LiftRow, ReplayReport, VariantReport } from './report';
import { barChart, escapeHtml as e, forestPlot, formatCount, lineChart, PALETTE, slug, VARIANT_COLORS, VARIANT_DASH, type ForestRow, type LineSeries } from './svg';

/**
 * The report as one self-contained HTML file: inline CSS, inline SVG
 * charts drawn by svg.ts, and a few lines of inline script (legend
 * toggles). Nothing is fetched when it is opened. The script marks the
 * page when it has run: <html data-report-status="ok" data-charts="N">,
 * or data-report-status="error" with data-report-error set if anything
 * threw, which is what the headless-browser test reads.
 */
export function renderHtml(report: ReplayReport): string {
  const variants = report.variants;
  const title = `Replay report — ${report.input.name}`;
  const sections = [
    summary(report),
    rulesSection(report),
    commandsSection(report),
    segmentsSection(report),
    suppressionsSection(report),
    liftSection(report),
    report.diff ? diffSection(report) : '',
  ];
  return `<!doctype html>
<html lang="en" data-report-status="pending">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header class="top">
  <div class="wrap">
    <div class="eyebrow">Listening Post · replay</div>
    <h1>${e(report.input.name)}</h1>
    <p class="meta">${e(inputLine(report))}</p>
    <p class="meta">${variants.map((v, i) => `${variantBadge(i, v.name)} <code>${e(v.rulesDir)}</code>${v.topicPrefix ? ` → topics <code>${e(v.topicPrefix)}*</code>` : ''}`).join(' &nbsp; ')}</p>
    ${report.complete ? '' : `<p class="partial">Partial report: the replay was stopped at event time ${e(report.input.lastEventAt ?? '-')}; everything below covers the input up to there.</p>`}
    <nav>${['Summary', 'Rules', 'Commands', 'Segments', 'Suppressions', 'Lift', ...(report.diff ? ['Differences'] : [])].map((s) => `<a href="#${slug(s)}">${s}</a>`).join('')}</nav>
  </div>
</header>
<main class="wrap">
${sections.join('\n')}
</main>
<footer class="wrap">
  <p>${e(report.format)} · ${formatCount(report.input.records)} touchpoints in ${report.run.seconds} s (${formatCount(report.run.touchpointsPerSecond)}/s) · ${e(report.run.startedAt)} · node ${e(report.run.node)} · batch ${report.settings.batch}, tick ${report.settings.tickMs} ms, settle ${report.settings.settleMs} ms, ${e(report.settings.state)} state · times are UTC, ${e(report.axis.bucket)} buckets</p>
</footer>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

function inputLine(r: ReplayReport): string {
  const i = r.input;
  const what = i.kind === 'topic' ? `topic ${i.name}, ${i.from} → ${i.to}` : i.kind === 'memory' ? i.name : `${i.kind === 'ndjson' ? 'NDJSON' : 'Avro'} file ${i.name}`;
  return `${what} · ${formatCount(i.records)} touchpoints on ${i.partitions} partitions${i.undecodable ? ` (${formatCount(i.undecodable)} undecodable)` : ''} · event time ${i.firstEventAt ?? '-'} → ${i.lastEventAt ?? '-'}${r.settings.reportFrom ? ` · reported from ${r.settings.reportFrom} (earlier: warm-up)` : ''}`;
}

function variantBadge(index: number, name: string): string {
  return `<span class="badge" style="--c:${VARIANT_COLORS[index]}"><svg width="22" height="8" aria-hidden="true"><line x1="0" x2="22" y1="4" y2="4" stroke="${VARIANT_COLORS[index]}" stroke-width="2.5"${VARIANT_DASH[index] ? ` stroke-dasharray="${VARIANT_DASH[index]}"` : ''}/></svg>${e(name)}</span>`;
}

function section(id: string, heading: string, intro: string, body: string): string {
  return `<section id="${id}"><h2>${e(heading)}</h2>${intro ? `<p class="intro">${intro}</p>` : ''}${body}</section>`;
}

// --- summary --------------------------------------------------------------------------------------

function summary(r: ReplayReport): string {
  const [b, v] = r.variants as [VariantReport, VariantReport | undefined];
  const card = (label: string, base: number, variant: number | undefined, hint = '') => {
    const delta = variant === undefined ? '' : deltaBadge(base, variant);
    return `<div class="card"><div class="label">${e(label)}</div><div class="value">${formatCount(variant ?? base)}</div>${variant === undefined ? '' : `<div class="sub">${delta}</div><div class="sub">baseline ${formatCount(base)}</div>`}${hint ? `<div class="sub">${hint}</div>` : ''}</div>`;
  };
  const cards = [
    card('Touchpoints', r.input.records, undefined),
    card('Commands sent', b.totals.commands, v?.totals.commands),
    card('Suppressed', b.totals.suppressed, v?.totals.suppressed),
    card('Held out (control)', b.totals.heldOut, v?.totals.heldOut),
    card('Segment changes', b.totals.segmentChanges, v?.totals.segmentChanges),
    card('Dead letters', b.totals.deadLetters, v?.totals.deadLetters),
  ];
  if (r.diff) {
    const d = r.diff.totals;
    cards.push(
      `<div class="card accent"><div class="label">Commands lost / gained</div><div class="value"><span class="neg">−${formatCount(d.lost)}</span> / <span class="pos">+${formatCount(d.gained)}</span></div><div class="sub">${formatCount(d.profilesLosing)} profiles lose, ${formatCount(d.profilesGaining)} gain · ${formatCount(d.changed)} re-routed</div></div>`,
    );
  }
  const headline = r.diff && v ? `<p class="headline">${headlineText(r, b, v)}</p>` : '';
  return section('summary', 'Summary', '', `${headline}<div class="cards">${cards.join('')}</div>`);
}

function headlineText(r: ReplayReport, b: VariantReport, v: VariantReport): string {
  const d = r.diff!.totals;
  const change = b.totals.commands === 0 ? '' : ` (${signedPercent(v.totals.commands, b.totals.commands)})`;
  return `With <b>${e(v.name)}</b> rules the engine would have sent <b>${formatCount(v.totals.commands)}</b> commands instead of ${formatCount(b.totals.commands)}${change}: ${formatCount(d.lost)} lost and ${formatCount(d.gained)} gained, across ${formatCount(d.profilesLosing + d.profilesGaining)} profiles.`;
}

function signedPercent(value: number, base: number): string {
  const p = ((value - base) / base) * 100;
  return `${p >= 0 ? '+' : '−'}${Math.abs(p).toFixed(Math.abs(p) < 10 ? 1 : 0)}%`;
}

function deltaBadge(base: number, variant: number): string {
  if (base === variant) return '<span class="delta same">±0</span>';
  const cls = variant > base ? 'up' : 'down';
  return `<span class="delta ${cls}">${variant > base ? '+' : '−'}${formatCount(Math.abs(variant - base))}${base > 0 ? ` · ${signedPercent(variant, base)}` : ''}</span>`;
}

// --- rules ----------------------------------------------------------------------------------------

function rulesSection(r: ReplayReport): string {
  const names = r.variants.map((v) => v.name);
  const rows = r.rules
    .map((f) => {
      const cells = f.variants
        .map((v) => `<td>${v.origin === 'missing' ? '<span class="muted">missing</span>' : `<code title="${e(v.path ?? '')}">${e((v.sha256 ?? '').slice(0, 10))}</code>${v.origin === 'baseline' && v.name !== names[0] ? ' <span class="muted">(baseline\'s)</span>' : ''}`}</td>`)
        .join('');
      const status = f.diff ? '<span class="delta up">changed</span>' : r.variants.length > 1 ? '<span class="muted">same</span>' : '';
      return `<tr><td><code>${e(f.name)}</code></td>${cells}<td>${status}</td></tr>`;
    })
    .join('');
  const table = `<table><thead><tr><th>file</th>${names.map((n) => `<th>${e(n)} (sha-256)</th>`).join('')}<th></th></tr></thead><tbody>${rows}</tbody></table>`;
  const diffs = r.rules
    .filter((f) => f.diff)
    .map(
      (f) =>
        `<details open><summary><code>${e(f.name)}</code>: ${e(names[0] ?? '')} → ${e(names[1] ?? '')}</summary><pre class="diff">${f
          .diff!.map((l) => `<span class="${l.op === '+' ? 'add' : l.op === '-' ? 'del' : 'ctx'}">${l.op} ${e(l.text)}</span>`)
          .join('\n')}</pre></details>`,
    )
    .join('');
  const intro =
    r.variants.length > 1
      ? 'The rule files each run used. A variant directory needs only the files it changes; the others are the baseline\'s.'
      : 'The rule files this run used.';
  return section('rules', 'Rules', intro, table + diffs);
}

// --- commands -------------------------------------------------------------------------------------

function commandsSection(r: ReplayReport): string {
  const triggers = union(r.variants.flatMap((v) => v.commands.byTrigger.map((t) => t.triggerId)));
  const channels = union(r.variants.flatMap((v) => Object.keys(v.commands.byChannel)));
  const color = (channel: string) => PALETTE[channels.indexOf(channel) % PALETTE.length]!;
  const legend = legendHtml([
    ...channels.map((c) => ({ id: `ch-${slug(c)}`, label: c, color: color(c) })),
    ...(r.variants.length > 1 ? r.variants.map((v, i) => ({ id: `variant-${i}`, label: v.name, color: '#555', dash: VARIANT_DASH[i], toggles: false })) : []),
  ]);
  const multiples = triggers
    .map((trigger) => {
      const series: LineSeries[] = [];
      r.variants.forEach((v, i) => {
        const t = v.commands.byTrigger.find((x) => x.triggerId === trigger);
        for (const channel of channels) {
          const values = t?.series[channel];
          if (!values) continue;
          series.push({ id: `ch-${slug(channel)}`, label: `${v.name} · ${channel}`, values, color: color(channel), dash: VARIANT_DASH[i] });
        }
      });
      const totals = r.variants.map((v) => v.commands.byTrigger.find((x) => x.triggerId === trigger)?.total ?? 0);
      return multiple(trigger, totals, lineChart({ starts: r.axis.starts, bucketMs: r.axis.bucketMs, series, title: `Commands of ${trigger} per ${r.axis.bucket}, by channel` }));
    })
    .join('');
  const header = `<tr><th>trigger</th>${channels.map((c) => `<th class="num">${e(c)}</th>`).join('')}<th class="num">total</th></tr>`;
  const rows = triggers
    .map((trigger) => {
      const cells = [...channels.map((c) => r.variants.map((v) => v.commands.byTrigger.find((t) => t.triggerId === trigger)?.byChannel[c] ?? 0)), r.variants.map((v) => v.commands.byTrigger.find((t) => t.triggerId === trigger)?.total ?? 0)];
      return `<tr><td><code>${e(trigger)}</code></td>${cells.map((values) => `<td class="num">${pair(values)}</td>`).join('')}</tr>`;
    })
    .join('');
  const body = triggers.length === 0 ? `<p class="empty-note">No commands were sent.</p>${lineChart({ starts: r.axis.starts, bucketMs: r.axis.bucketMs, series: [], title: 'Commands' })}` : `${legend}<div class="grid">${multiples}</div><table class="matrix"><thead>${header}</thead><tbody>${rows}</tbody></table>`;
  return section('commands', 'Commands by trigger and channel', `Commands sent per ${e(r.axis.bucket)} of event time (createdAt), one chart per trigger, a line per channel${r.variants.length > 1 ? '; baseline solid, variant dashed' : ''}. The table gives totals${r.variants.length > 1 ? ' as baseline → variant' : ''}.`, body);
}

function pair(values: number[]): string {
  if (values.length === 1) return formatCount(values[0]!);
  const [b, v] = values as [number, number];
  if (b === v) return formatCount(b);
  return `${formatCount(b)} → <b class="${v > b ? 'pos' : 'neg'}">${formatCount(v)}</b>`;
}

function multiple(name: string, totals: number[], chart: string): string {
  return `<figure class="multiple"><figcaption><code>${e(name)}</code><span class="muted">${totals.map(formatCount).join(' → ')}</span></figcaption>${chart}</figure>`;
}

function legendHtml(items: { id: string; label: string; color: string; dash?: string; toggles?: boolean }[]): string {
  return `<div class="legend">${items
    .map(
      (i) =>
        `<button type="button" class="legend-item"${i.toggles === false ? ' disabled' : ` data-toggle="${e(i.id)}"`}><svg width="24" height="10" aria-hidden="true"><line x1="1" x2="23" y1="5" y2="5" stroke="${i.color}" stroke-width="3"${i.dash ? ` stroke-dasharray="${i.dash}"` : ''}/></svg>${e(i.label)}</button>`,
    )
    .join('')}</div>`;
}

// --- segments -------------------------------------------------------------------------------------

function segmentsSection(r: ReplayReport): string {
  const segments = union(r.variants.flatMap((v) => v.segments.map((s) => s.segment)));
  const legend = legendHtml(r.variants.map((v, i) => ({ id: `variant-${i}`, label: v.name, color: VARIANT_COLORS[i]!, dash: VARIANT_DASH[i] })));
  const multiples = segments
    .map((segment) => {
      const series: LineSeries[] = [];
      const finals: number[] = [];
      r.variants.forEach((v, i) => {
        const s = v.segments.find((x) => x.segment === segment);
        finals.push(s?.final ?? 0);
        if (s) series.push({ id: `variant-${i}`, label: `${v.name}: members`, values: s.series, color: VARIANT_COLORS[i]!, dash: VARIANT_DASH[i] });
      });
      return multiple(segment, finals, lineChart({ starts: r.axis.starts, bucketMs: r.axis.bucketMs, series, title: `Members of ${segment} at the end of each ${r.axis.bucket}` }));
    })
    .join('');
  const body = segments.length === 0 ? `<p class="empty-note">No segment changes.</p>${lineChart({ starts: r.axis.starts, bucketMs: r.axis.bucketMs, series: [], title: 'Segment sizes' })}` : `${legend}<div class="grid">${multiples}</div>`;
  return section('segments', 'Segment sizes over time', 'Members of each segment at the end of each bucket (entries minus exits in segments.membership); the numbers are the final sizes.', body);
}

// --- suppressions ---------------------------------------------------------------------------------

const REASON_TEXT: Record<string, string> = {
  no_consent: 'no consent',
  no_reachable_channel: 'no reachable channel',
  quiet_hours: 'quiet hours',
  capped: 'frequency cap',
  cooldown: 'cooldown',
  outranked: 'outranked',
  stale: 'stale (too late)',
  held_out: 'held out (control)',
};

function suppressionsSection(r: ReplayReport): string {
  const reasons = union(r.variants.flatMap((v) => Object.keys(v.decisions.byReason)));
  const members = r.variants.map((v, i) => ({ id: `variant-${i}`, label: v.name, color: VARIANT_COLORS[i]! }));
  const chart = barChart({
    groups: reasons.map((reason) => ({ label: REASON_TEXT[reason] ?? reason, values: r.variants.map((v) => v.decisions.byReason[reason] ?? 0) })),
    members,
    title: 'Firings not sent, by reason',
  });
  const triggers = union(r.variants.flatMap((v) => v.decisions.byTrigger.map((t) => t.triggerId)));
  const rows = triggers
    .map((trigger) => `<tr><td><code>${e(trigger)}</code></td>${reasons.map((reason) => `<td class="num">${pair(r.variants.map((v) => v.decisions.byTrigger.find((t) => t.triggerId === trigger)?.byReason[reason] ?? 0))}</td>`).join('')}</tr>`)
    .join('');
  const table = triggers.length === 0 ? '' : `<table class="matrix"><thead><tr><th>trigger</th>${reasons.map((reason) => `<th class="num">${e(REASON_TEXT[reason] ?? reason)}</th>`).join('')}</tr></thead><tbody>${rows}</tbody></table>`;
  return section(
    'suppressions',
    'Suppressions by reason',
    'Trigger firings that did not become a command (engagement.decisions), by the check that stopped them. <i>held out</i> is the control group of the holdout, not a failure.',
    `${legendHtml(members)}${chart}${table}`,
  );
}

// --- lift -----------------------------------------------------------------------------------------

function pp(v: number): string {
  return `${v >= 0 ? '+' : '−'}${Math.abs(v * 100).toFixed(1)}`;
}

function interval(ci: [number, number] | null | undefined): string {
  return ci ? `[${pp(ci[0])}, ${pp(ci[1])}]` : '–';
}

/** What is still needed for ±2 points: people, and days when the window had a length. */
function planCell(plan: LiftRow['plan']): string {
  if (!plan) return '–';
  const needed = (people: number, days: number | null) => (people === 0 ? 'reached' : `${formatCount(people)} people${days === null ? '' : ` · ${formatCount(days)} d`}`);
  return `${needed(plan.remaining, plan.days)}<br><span class="muted">live: ${needed(plan.alwaysValidRemaining, plan.alwaysValidDays)}</span>`;
}

function liftSection(r: ReplayReport): string {
  const triggers = union(r.variants.flatMap((v) => v.lift.map((l) => l.triggerId)));
  const rows: ForestRow[] = [];
  const tableRows: string[] = [];
  for (const trigger of triggers) {
    r.variants.forEach((v, i) => {
      const l = v.lift.find((x) => x.triggerId === trigger);
      if (!l) return;
      const est = l.estimate;
      const note = est?.lift != null && est.ci95 ? `${pp(est.lift)} pp ${interval(est.ci95)}` : l.note ? 'no estimate' : est?.treatedRate == null ? 'no treated group' : 'no control group';
      rows.push({
        label: r.variants.length > 1 ? `${trigger} · ${v.name}` : trigger,
        id: `variant-${i}`,
        color: VARIANT_COLORS[i]!,
        lift: est?.lift ?? null,
        ci: est?.ci95 ?? null,
        significant: est?.significant ?? false,
        note: `${note} · n ${formatCount(l.treated)}/${formatCount(l.control)}`,
      });
      const rate = (x: number | null | undefined) => (x == null ? '–' : `${(x * 100).toFixed(1)}%`);
      tableRows.push(
        `<tr><td><code>${e(trigger)}</code></td>${r.variants.length > 1 ? `<td>${e(v.name)}</td>` : ''}<td class="num">${formatCount(l.treatedConverted)} / ${formatCount(l.treated)}</td><td class="num">${rate(est?.treatedRate)}</td><td class="num">${formatCount(l.controlConverted)} / ${formatCount(l.control)}</td><td class="num">${rate(est?.controlRate)}</td><td class="num">${est?.lift == null ? '–' : `${pp(est.lift)} pp`}</td><td class="num">${interval(est?.ci95)}</td><td class="num">${interval(est?.ci95AlwaysValid)}</td><td class="num">${planCell(l.plan)}</td><td>${est && !est.enoughData ? '<span class="muted">not enough data</span>' : ''}${est?.significant ? ' <span class="delta up">significant</span>' : ''}${l.note ? ` <span class="muted">${e(l.note)}</span>` : ''}</td></tr>`,
      );
    });
  }
  const members = r.variants.map((v, i) => ({ id: `variant-${i}`, label: v.name, color: VARIANT_COLORS[i]! }));
  const table = tableRows.length === 0 ? '' : `<table><thead><tr><th>trigger</th>${r.variants.length > 1 ? '<th>rules</th>' : ''}<th class="num">treated converted</th><th class="num">rate</th><th class="num">control converted</th><th class="num">rate</th><th class="num">lift</th><th class="num">95% CI</th><th class="num">always-valid 95% CI</th><th class="num">still needed for ±2 pp</th><th>method</th></tr></thead><tbody>${tableRows.join('')}</tbody></table>`;
  return section(
    'lift',
    'Holdout lift per trigger',
    'Conversion rate of people engaged minus that of the held-out control group, per person at first exposure (engagement.lift, all partitions combined), with its 95% confidence interval. A filled point: the interval excludes zero. The always-valid interval stays valid however often it is looked at while the counts grow; the last column is how many more people (and days, at the window\'s pace) a ±2-point interval needs at the rates seen, for the fixed interval and, after "live", the always-valid one.',
    `${r.variants.length > 1 ? legendHtml(members) : ''}${forestPlot(rows, 'Lift per trigger with 95% confidence intervals')}${table}`,
  );
}

// --- diff -----------------------------------------------------------------------------------------

function diffSection(r: ReplayReport): string {
  const d = r.diff!;
  const rows = d.byTrigger
    .map(
      (t) =>
        `<tr><td><code>${e(t.triggerId)}</code></td><td class="num neg">${t.lost ? `−${formatCount(t.lost)}` : '0'}</td><td class="num pos">${t.gained ? `+${formatCount(t.gained)}` : '0'}</td><td class="num">${formatCount(t.changed)}</td><td class="num">${formatCount(t.reasonChanged)}</td><td>${Object.entries(t.lostBecause)
          .map(([reason, n]) => `${e(reason === 'not_fired' ? 'did not fire' : (REASON_TEXT[reason] ?? reason))}: ${formatCount(n)}`)
          .join(', ')}</td></tr>`,
    )
    .join('');
  const table =
    d.byTrigger.length === 0
      ? '<p class="empty-note">Both rule sets made the same decision for every firing.</p>'
      : `<table><thead><tr><th>trigger</th><th class="num">lost</th><th class="num">gained</th><th class="num">re-routed</th><th class="num">other reason</th><th>lost because (in ${e(d.variant)})</th></tr></thead><tbody>${rows}</tbody></table>`;
  const profiles = d.profiles.slice(0, 24);
  const profileList =
    profiles.length === 0
      ? ''
      : `<h3>Profiles most affected</h3><ul class="profiles">${profiles.map((p) => `<li><code>${e(p.profileId)}</code> ${p.lost ? `<span class="neg">−${p.lost}</span>` : ''} ${p.gained ? `<span class="pos">+${p.gained}</span>` : ''}</li>`).join('')}</ul>${d.profiles.length > profiles.length || d.profilesTruncated ? `<p class="muted">…and more in report.json (${formatCount(d.totals.profilesLosing)} losing, ${formatCount(d.totals.profilesGaining)} gaining).</p>` : ''}`;
  const examples = d.examples.length === 0 ? '' : `<h3>Example decision traces</h3><div class="examples">${d.examples.map((x) => exampleCard(x, d.baseline, d.variant)).join('')}</div>`;
  return section(
    'differences',
    `${d.baseline} versus ${d.variant}`,
    `Every firing (trigger × profile × causing event) has one id in both runs, so the runs are compared firing by firing. <b>Lost</b>: sent with ${e(d.baseline)}, not with ${e(d.variant)}; <b>gained</b>: the reverse; <b>re-routed</b>: sent by both to another channel or content; <b>other reason</b>: suppressed by both, for different reasons.`,
    table + profileList + examples,
  );
}

function exampleCard(x: DiffExample, baseline: string, variant: string): string {
  const label = { lost: 'lost', gained: 'gained', changed: 're-routed', reasonChanged: 'other reason' }[x.kind];
  return `<article class="example ${x.kind}"><header><span class="kind">${label}</span> <code>${e(x.triggerId)}</code> for <code>${e(x.profileId)}</code><span class="muted"> · firing ${e(x.id)}</span></header><div class="sides">${side(baseline, x.baseline, 0)}${side(variant, x.variant, 1)}</div></article>`;
}

function side(name: string, s: FiringSide | null, index: number): string {
  const head = `<div class="side-name" style="border-color:${VARIANT_COLORS[index]}">${e(name)}</div>`;
  if (!s) return `<div class="side">${head}<p class="outcome none">did not fire</p><p class="muted">No firing with this id: the rule is disabled or absent, or its condition did not match.</p></div>`;
  const outcome = s.outcome === 'sent' ? `<p class="outcome sent">sent on <b>${e(s.channel)}</b> · ${e(s.action)} · <code>${e(s.contentRef)}</code></p>` : `<p class="outcome held">${e(REASON_TEXT[s.outcome] ?? s.outcome)}</p>`;
  const checks = s.trace.checks
    .map((c) => `<li class="${c.passed ? 'ok' : 'fail'}"><span class="mark">${c.passed ? '✓' : '✗'}</span><b>${e(c.check)}</b> ${e(c.detail)}</li>`)
    .join('');
  const scores = Object.entries(s.trace.scores)
    .map(([k, v]) => `${e(k)} ${+v.toFixed(2)}`)
    .join(', ');
  return `<div class="side">${head}${outcome}<p class="rule">${e(s.trace.rule)}</p><p class="muted">at ${e(new Date(s.at).toISOString())} · cause ${s.trace.causeEventIds.map((c) => `<code>${e(c)}</code>`).join(' ')}${scores ? ` · scores ${scores}` : ''}${s.trace.segments.length ? ` · segments ${s.trace.segments.map(e).join(', ')}` : ''}</p><ul class="checks">${checks}</ul></div>`;
}

function union(values: string[]): string[] {
  return [...new Set(values)].sort();
}

// --- style and script -----------------------------------------------------------------------------

const CSS = `
:root { --ink:#1d2330; --muted:#667085; --line:#e4e7ec; --bg:#f6f7f9; --card:#fff; --pos:#18794e; --neg:#b42318; --accent:#2f6db5; }
* { box-sizing: border-box; }
body { margin:0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--ink); background: var(--bg); }
.wrap { max-width: 1200px; margin: 0 auto; padding: 0 28px; }
header.top { background: linear-gradient(135deg, #1f3b63, #2f6db5); color: #fff; padding: 26px 0 0; }
header.top .eyebrow { text-transform: uppercase; letter-spacing: .08em; font-size: 12px; opacity: .8; }
header.top h1 { margin: 4px 0 6px; font-size: 26px; font-weight: 650; word-break: break-all; }
header.top .meta { margin: 2px 0; opacity: .92; }
header.top code { background: rgba(255,255,255,.14); padding: 1px 5px; border-radius: 4px; }
header.top nav { display: flex; gap: 4px; margin-top: 16px; flex-wrap: wrap; }
header.top nav a { color: #fff; text-decoration: none; padding: 8px 12px; border-radius: 8px 8px 0 0; background: rgba(255,255,255,.1); font-size: 13px; }
header.top nav a:hover { background: rgba(255,255,255,.22); }
.badge { display: inline-flex; align-items: center; gap: 6px; background: #fff; color: var(--ink); border-radius: 999px; padding: 1px 10px 1px 8px; font-weight: 600; font-size: 12.5px; }
.partial { background: #fff4e5; color: #7a4100; border-radius: 8px; padding: 8px 12px; display: inline-block; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 12px; padding: 18px 22px 22px; margin: 22px 0; box-shadow: 0 1px 2px rgba(16,24,40,.04); }
h2 { font-size: 19px; margin: 0 0 4px; }
h3 { font-size: 15px; margin: 20px 0 8px; }
.intro { color: var(--muted); margin: 0 0 14px; max-width: 900px; }
.headline { font-size: 16px; margin: 0 0 14px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 12px; }
.card { border: 1px solid var(--line); border-radius: 10px; padding: 12px 14px; background: #fcfcfd; }
.card.accent { border-color: #c7d7ee; background: #f3f7fd; }
.card .label { color: var(--muted); font-size: 12.5px; }
.card .value { font-size: 22px; font-weight: 650; margin-top: 2px; }
.card .sub { color: var(--muted); font-size: 12px; margin-top: 2px; }
.delta { font-size: 12px; font-weight: 600; border-radius: 6px; padding: 1px 6px; vertical-align: middle; }
.delta.up { background: #e7f6ee; color: var(--pos); }
.delta.down { background: #fdecea; color: var(--neg); }
.delta.same { background: #eef0f3; color: var(--muted); }
.pos { color: var(--pos); } .neg { color: var(--neg); }
.muted { color: var(--muted); }
table { border-collapse: collapse; width: 100%; margin-top: 14px; font-size: 13px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:hover { background: #fafbfc; }
code { font: 12.5px/1.4 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 14px; }
figure.multiple { margin: 0; border: 1px solid var(--line); border-radius: 10px; padding: 8px 10px 4px; }
figure.multiple figcaption { display: flex; justify-content: space-between; gap: 8px; font-size: 13px; }
svg.chart { width: 100%; height: auto; display: block; }
svg.chart .grid { stroke: #eef0f3; }
svg.chart .axis { stroke: #98a2b3; }
svg.chart .zero { stroke: #475467; stroke-dasharray: 3 3; }
svg.chart .tick { fill: var(--muted); font-size: 10px; }
svg.chart .label { fill: var(--ink); font-size: 12px; }
svg.chart .value, svg.chart .note { fill: var(--muted); font-size: 11px; }
svg.chart .empty { fill: #98a2b3; font-size: 12px; font-style: italic; }
svg.chart .whisker { stroke-width: 2; }
svg.chart .hidden { display: none; }
.legend { display: flex; flex-wrap: wrap; gap: 6px; margin: 0 0 10px; }
.legend-item { display: inline-flex; align-items: center; gap: 6px; border: 1px solid var(--line); background: #fff; border-radius: 999px; padding: 2px 10px 2px 6px; font: inherit; font-size: 12.5px; cursor: pointer; color: var(--ink); }
.legend-item[disabled] { cursor: default; background: #fafbfc; }
.legend-item.off { opacity: .4; text-decoration: line-through; }
details { margin-top: 12px; }
summary { cursor: pointer; }
pre.diff { background: #0f172a; color: #e2e8f0; border-radius: 8px; padding: 10px 12px; overflow: auto; font-size: 12px; line-height: 1.45; }
pre.diff .add { color: #86efac; } pre.diff .del { color: #fca5a5; } pre.diff .ctx { color: #94a3b8; }
ul.profiles { columns: 3; list-style: none; padding: 0; margin: 0; font-size: 12.5px; }
.examples { display: grid; gap: 14px; }
article.example { border: 1px solid var(--line); border-left: 4px solid #98a2b3; border-radius: 10px; padding: 10px 14px; }
article.example.lost { border-left-color: var(--neg); } article.example.gained { border-left-color: var(--pos); } article.example.changed { border-left-color: var(--accent); }
article.example header .kind { text-transform: uppercase; font-size: 11px; font-weight: 700; letter-spacing: .06em; }
.sides { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; margin-top: 8px; }
.side { background: #fcfcfd; border-radius: 8px; padding: 8px 12px; }
.side-name { border-left: 4px solid; padding-left: 6px; font-weight: 650; }
.outcome { margin: 6px 0 2px; font-weight: 600; } .outcome.sent { color: var(--pos); } .outcome.held, .outcome.none { color: var(--neg); }
.rule { margin: 2px 0; font-style: italic; }
ul.checks { list-style: none; padding: 0; margin: 6px 0 0; font-size: 12.5px; }
ul.checks li { padding: 1px 0; } ul.checks .mark { display: inline-block; width: 18px; font-weight: 700; }
ul.checks .ok .mark { color: var(--pos); } ul.checks .fail .mark { color: var(--neg); } ul.checks .fail { color: var(--neg); }
.empty-note { color: var(--muted); font-style: italic; }
footer { color: var(--muted); font-size: 12px; padding-bottom: 30px; }
@media (max-width: 800px) { .sides { grid-template-columns: 1fr; } ul.profiles { columns: 1; } }
`;

/** Legend toggles, then the status marker the headless-browser test checks. */
const SCRIPT = `
(function () {
  var root = document.documentElement;
  window.addEventListener('error', function (event) {
    root.setAttribute('data-report-status', 'error');
    root.setAttribute('data-report-error', String(event.message || event.error));
  });
  try {
    var buttons = document.querySelectorAll('.legend-item[data-toggle]');
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].addEventListener('click', function (event) {
        var button = event.currentTarget;
        var id = button.getAttribute('data-toggle');
        var off = button.classList.toggle('off');
        var scope = button.closest('section') || document;
        var marks = scope.querySelectorAll('[data-series="' + id + '"]');
        for (var j = 0; j < marks.length; j++) marks[j].classList.toggle('hidden', off);
      });
    }
    root.setAttribute('data-charts', String(document.querySelectorAll('svg.chart').length));
    root.setAttribute('data-report-status', 'ok');
  } catch (error) {
    root.setAttribute('data-report-status', 'error');
    root.setAttribute('data-report-error', String(error && error.message || error));
  }
})();
`;
