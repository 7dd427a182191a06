/**
 * The report's charts as inline SVG strings, drawn here so the HTML file
 * needs nothing from the network and no chart library: line charts over
 * the report's time axis, grouped horizontal bars, and a forest plot for
 * lift with confidence intervals. Every chart is an <svg class="chart">
 * with data-chart="<kind>"; every series carries data-series, which the
 * page's legend buttons toggle. Hover titles (<title>) give exact values.
 */

export const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
export const VARIANT_COLORS = ['#2f6db5', '#e8710a'];
/** Baseline solid, variant dashed. */
export const VARIANT_DASH = ['', '6 4'];

export function escapeHtml(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A short id usable in attributes and CSS, stable for a label. */
export function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'x';
}

const fmtInt = new Intl.NumberFormat('en-GB');

export function formatCount(n: number): string {
  return fmtInt.format(Math.round(n));
}

/** 1–2–5 ticks covering [0, max]. */
export function niceTicks(max: number, wanted = 4): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / wanted;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let v = 0; v <= max + step * 0.999; v += step) ticks.push(Math.round(v * 1e9) / 1e9);
  return ticks;
}

function tickLabel(v: number): string {
  if (Math.abs(v) >= 1_000_000) return `${+(v / 1_000_000).toFixed(1)}M`;
  if (Math.abs(v) >= 10_000) return `${+(v / 1000).toFixed(0)}k`;
  if (Math.abs(v) >= 1000) return `${+(v / 1000).toFixed(1)}k`;
  return String(+v.toFixed(2));
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const TICK_INTERVALS = [60_000, 5 * 60_000, 15 * 60_000, 30 * 60_000, 3_600_000, 3 * 3_600_000, 6 * 3_600_000, 12 * 3_600_000, 86_400_000, 2 * 86_400_000, 7 * 86_400_000, 14 * 86_400_000, 28 * 86_400_000, 91 * 86_400_000, 364 * 86_400_000];

/** Round UTC times between `from` and `to` to put ticks at: at most `most` of them, on minute, hour or day boundaries. */
export function timeTicks(from: number, to: number, most = 6): { at: number; label: string }[] {
  const interval = TICK_INTERVALS.find((i) => Math.floor(to / i) - Math.ceil(from / i) + 1 <= most) ?? TICK_INTERVALS[TICK_INTERVALS.length - 1]!;
  const ticks: { at: number; label: string }[] = [];
  for (let t = Math.ceil(from / interval) * interval; t <= to; t += interval) ticks.push({ at: t, label: timeLabel(t, interval) });
  return ticks;
}

/** A UTC time as an axis shows it: the date for day ticks and midnights, else the time of day. */
export function timeLabel(t: number, interval: number): string {
  const d = new Date(t);
  const hm = `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
  if (interval >= 86_400_000 || hm === '00:00') return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}`;
  return hm;
}

export function timeTitle(t: number): string {
  return new Date(t).toISOString().replace('T', ' ').replace(/:00\.000Z$/, ' UTC');
}

export interface LineSeries {
  /** Toggled together by the legend: e.g. a channel, or a variant. */
  id: string;
  label: string;
  values: number[];
  color: string;
  dash?: string;
}

export interface LineChartOptions {
  starts: number[];
  bucketMs: number;
  series: LineSeries[];
  width?: number;
  height?: number;
  /** Accessible name. */
  title: string;
}

/** Lines over the time axis. An empty axis or no series draws the frame and says so. */
export function lineChart(o: LineChartOptions): string {
  const width = o.width ?? 360;
  const height = o.height ?? 170;
  const m = { top: 10, right: 10, bottom: 24, left: 40 };
  const w = width - m.left - m.right;
  const h = height - m.top - m.bottom;
  const n = o.starts.length;
  const max = Math.max(0, ...o.series.flatMap((s) => s.values));
  const ticks = niceTicks(max);
  const top = ticks[ticks.length - 1]!;
  const x = (i: number) => m.left + (n <= 1 ? w / 2 : (i / (n - 1)) * w);
  const y = (v: number) => m.top + h - (v / top) * h;
  const parts: string[] = [];
  parts.push(chartOpening('line', o.title, width, height));
  for (const t of ticks) {
    parts.push(`<line class="grid" x1="${m.left}" x2="${m.left + w}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}"/>`);
    parts.push(`<text class="tick" x="${m.left - 5}" y="${(y(t) + 3.5).toFixed(1)}" text-anchor="end">${tickLabel(t)}</text>`);
  }
  parts.push(`<line class="axis" x1="${m.left}" x2="${m.left + w}" y1="${m.top + h}" y2="${m.top + h}"/>`);
  if (n > 1) {
    for (const tick of timeTicks(o.starts[0]!, o.starts[n - 1]!, 5)) {
      const at = x((tick.at - o.starts[0]!) / o.bucketMs);
      parts.push(`<line class="axis" x1="${at.toFixed(1)}" x2="${at.toFixed(1)}" y1="${m.top + h}" y2="${m.top + h + 3}"/>`);
      parts.push(`<text class="tick" x="${at.toFixed(1)}" y="${height - 6}" text-anchor="middle">${escapeHtml(tick.label)}</text>`);
    }
  } else if (n === 1) parts.push(`<text class="tick" x="${x(0).toFixed(1)}" y="${height - 6}" text-anchor="middle">${escapeHtml(timeTitle(o.starts[0]!))}</text>`);
  if (n === 0 || o.series.length === 0) {
    parts.push(`<text class="empty" x="${m.left + w / 2}" y="${m.top + h / 2}" text-anchor="middle">no data</text>`);
  }
  for (const s of o.series) {
    if (n === 0) continue;
    const points = s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`);
    let d = `M${points.join(' L')}`;
    if (n === 1) d += ` h0.1`;
    const total = s.values.reduce((a, b) => a + b, 0);
    parts.push(
      `<path class="series" data-series="${escapeHtml(s.id)}" d="${d}" fill="none" stroke="${s.color}" stroke-width="1.8"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}><title>${escapeHtml(s.label)}: max ${formatCount(Math.max(...s.values))}, total ${formatCount(total)}</title></path>`,
    );
  }
  parts.push('</svg>');
  return parts.join('');
}

export interface BarGroup {
  label: string;
  /** One value per variant (or per group member), in order. */
  values: number[];
}

export interface BarChartOptions {
  groups: BarGroup[];
  /** Names and colours of the bars within a group. */
  members: { id: string; label: string; color: string }[];
  title: string;
  width?: number;
}

/** Horizontal bars, one row of bars per group. */
export function barChart(o: BarChartOptions): string {
  const width = o.width ?? 1100;
  const bar = 14;
  const gap = 10;
  const rowHeight = o.members.length * bar + gap;
  const labelWidth = 200;
  const m = { top: 8, right: 70, bottom: 22, left: labelWidth };
  const height = m.top + m.bottom + Math.max(1, o.groups.length) * rowHeight;
  const w = width - m.left - m.right;
  const max = Math.max(0, ...o.groups.flatMap((g) => g.values));
  const ticks = niceTicks(max, 5);
  const top = ticks[ticks.length - 1]!;
  const x = (v: number) => m.left + (v / top) * w;
  const parts: string[] = [];
  parts.push(chartOpening('bars', o.title, width, height));
  for (const t of ticks) {
    parts.push(`<line class="grid" x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${m.top}" y2="${height - m.bottom}"/>`);
    parts.push(`<text class="tick" x="${x(t).toFixed(1)}" y="${height - 6}" text-anchor="middle">${tickLabel(t)}</text>`);
  }
  if (o.groups.length === 0) parts.push(`<text class="empty" x="${m.left + w / 2}" y="${m.top + rowHeight / 2}" text-anchor="middle">no data</text>`);
  o.groups.forEach((g, row) => {
    const y0 = m.top + row * rowHeight + gap / 2;
    parts.push(`<text class="label" x="${m.left - 8}" y="${(y0 + (o.members.length * bar) / 2 + 4).toFixed(1)}" text-anchor="end">${escapeHtml(g.label)}</text>`);
    g.values.forEach((v, i) => {
      const member = o.members[i]!;
      const y = y0 + i * bar;
      parts.push(
        `<g class="series" data-series="${escapeHtml(member.id)}"><rect class="bar" x="${m.left}" y="${y.toFixed(1)}" width="${Math.max(0, x(v) - m.left).toFixed(1)}" height="${bar - 2}" fill="${member.color}"><title>${escapeHtml(`${g.label} — ${member.label}: ${formatCount(v)}`)}</title></rect><text class="value" x="${(x(v) + 4).toFixed(1)}" y="${(y + bar - 4).toFixed(1)}">${formatCount(v)}</text></g>`,
      );
    });
  });
  parts.push(`<line class="axis" x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${height - m.bottom}"/>`);
  parts.push('</svg>');
  return parts.join('');
}

export interface ForestRow {
  label: string;
  /** Toggle id (the variant). */
  id: string;
  color: string;
  /** Absolute lift (treated rate - control rate), or null when it cannot be estimated. */
  lift: number | null;
  ci: [number, number] | null;
  significant: boolean;
  /** Shown at the right: e.g. "+2.0 pp [−0.7, +4.7] · n 1,000 / 120". */
  note: string;
}

/** Lift per trigger and variant: a point at the estimate, whiskers for the 95% interval, a line at zero. */
export function forestPlot(rows: ForestRow[], title: string, width = 1100): string {
  const rowHeight = 24;
  const m = { top: 10, right: 300, bottom: 26, left: 320 };
  const height = m.top + m.bottom + Math.max(1, rows.length) * rowHeight;
  const w = width - m.left - m.right;
  const extent = Math.max(0.01, ...rows.flatMap((r) => (r.ci ? [Math.abs(r.ci[0]), Math.abs(r.ci[1])] : r.lift !== null ? [Math.abs(r.lift)] : [])));
  const ticks = niceTicks(extent, 3);
  const lim = ticks[ticks.length - 1]!;
  const x = (v: number) => m.left + ((v + lim) / (2 * lim)) * w;
  const parts: string[] = [];
  parts.push(chartOpening('forest', title, width, height));
  for (const t of [...ticks.slice(1).map((v) => -v).reverse(), ...ticks]) {
    parts.push(`<line class="grid" x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${m.top}" y2="${height - m.bottom}"/>`);
    parts.push(`<text class="tick" x="${x(t).toFixed(1)}" y="${height - 8}" text-anchor="middle">${t > 0 ? '+' : ''}${+(t * 100).toFixed(1)} pp</text>`);
  }
  parts.push(`<line class="zero" x1="${x(0).toFixed(1)}" x2="${x(0).toFixed(1)}" y1="${m.top}" y2="${height - m.bottom}"/>`);
  if (rows.length === 0) parts.push(`<text class="empty" x="${m.left + w / 2}" y="${m.top + rowHeight / 2 + 4}" text-anchor="middle">no lift measured</text>`);
  rows.forEach((r, i) => {
    const y = m.top + i * rowHeight + rowHeight / 2;
    parts.push(`<g class="series" data-series="${escapeHtml(r.id)}">`);
    parts.push(`<text class="label" x="${m.left - 10}" y="${y + 4}" text-anchor="end">${escapeHtml(r.label)}</text>`);
    if (r.ci) {
      const [lo, hi] = r.ci;
      parts.push(`<line class="whisker" x1="${x(lo).toFixed(1)}" x2="${x(hi).toFixed(1)}" y1="${y}" y2="${y}" stroke="${r.color}"/>`);
      parts.push(`<line class="whisker" x1="${x(lo).toFixed(1)}" x2="${x(lo).toFixed(1)}" y1="${y - 5}" y2="${y + 5}" stroke="${r.color}"/>`);
      parts.push(`<line class="whisker" x1="${x(hi).toFixed(1)}" x2="${x(hi).toFixed(1)}" y1="${y - 5}" y2="${y + 5}" stroke="${r.color}"/>`);
    }
    if (r.lift !== null) {
      parts.push(`<circle class="point" cx="${x(r.lift).toFixed(1)}" cy="${y}" r="5" fill="${r.significant ? r.color : '#fff'}" stroke="${r.color}" stroke-width="2"><title>${escapeHtml(`${r.label}: ${r.note}`)}</title></circle>`);
    }
    parts.push(`<text class="note" x="${width - m.right + 12}" y="${y + 4}">${escapeHtml(r.note)}</text>`);
    parts.push('</g>');
  });
  parts.push('</svg>');
  return parts.join('');
}

/** The <svg> of a chart, titled for screen readers and hover; the page finds charts by data-chart. */
function chartOpening(kind: 'line' | 'bars' | 'forest', title: string, width: number, height: number): string {
  return `<svg class="chart" data-chart="${kind}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(title)}" xmlns="http://www.w3.org/2000/svg"><title>${escapeHtml(title)}</title>`;
}
