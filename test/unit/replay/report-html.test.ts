import { mkdirSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArraySource, loadRuleSet, renderHtml, runReplay, writeReport, type ReplayReport } from '../../../replay';
import { dumpDom, findChromium, pngStats, screenshot } from '../../support/chromium';
import { CONFIG_DIR } from '../../support/product';
import { bankDay, testRules, variantRules } from './scenario';

/**
 * The HTML report: one self-contained file (no network), inline SVG charts
 * for every section, checked in a real headless browser (Debian's
 * chromium): it renders, its script runs without errors and marks the
 * page, the charts are there, and the screenshot is not blank. The
 * screenshot is kept at reports/replay-report.png.
 */
jest.setTimeout(120_000);

const ROOT = join(__dirname, '..', '..', '..');
const SCREENSHOT = join(ROOT, 'reports', 'replay-report.png');

let report: ReplayReport;

beforeAll(async () => {
  const day = bankDay();
  const base = testRules();
  ({ report } = await runReplay({
    source: new ArraySource(day.touchpoints, 4, 'a day of a bank (test scenario)'),
    variants: [
      { name: 'baseline', rules: loadRuleSet('baseline', base, CONFIG_DIR) },
      { name: 'variant', rules: loadRuleSet('variant', variantRules(base), base) },
    ],
    stateDir: mkdtempSync(join(tmpdir(), 'lp-replay-state-')),
    state: 'memory',
    settleMs: 120_000,
  }));
});

const count = (html: string, pattern: RegExp) => (html.match(pattern) ?? []).length;

describe('the report page', () => {
  it('draws every section as inline SVG and needs nothing from the network', () => {
    const html = renderHtml(report);
    expect(count(html, /<svg class="chart" data-chart="line"/g)).toBe(3); // 2 triggers with commands, 1 segment
    expect(count(html, /<svg class="chart" data-chart="bars"/g)).toBe(1);
    expect(count(html, /<svg class="chart" data-chart="forest"/g)).toBe(1);
    for (const id of ['summary', 'rules', 'commands', 'segments', 'suppressions', 'lift', 'differences']) expect(html).toContain(`<section id="${id}">`);
    // no external resources of any kind
    expect(html).not.toMatch(/\b(src|href)="(https?:)?\/\//);
    expect(html).not.toMatch(/@import|url\(/);
    // one bar per variant per suppression reason; one point per lift row with an estimate
    expect(count(html, /<rect class="bar"/g)).toBe(2 * Object.keys({ ...report.variants[0]!.decisions.byReason, ...report.variants[1]!.decisions.byReason }).length);
    expect(count(html, /<circle class="point"/g)).toBe(1);
    expect(html).toContain('+25.0 pp');
    // beside the fixed interval, the always-valid one and what a ±2-point interval still needs
    const [lift] = report.variants[0]!.lift;
    const [low, high] = lift!.estimate!.ci95AlwaysValid!;
    expect(html).toContain('<th class="num">always-valid 95% CI</th><th class="num">still needed for ±2 pp</th>');
    expect(html).toContain(`[${low < 0 ? '−' : '+'}${Math.abs(low * 100).toFixed(1)}, +${(high * 100).toFixed(1)}]`);
    expect(html).toMatch(new RegExp(`${lift!.plan!.remaining.toLocaleString('en-US')} people · [\\d,]+ d<br><span class="muted">live: ${lift!.plan!.alwaysValidRemaining.toLocaleString('en-US')} people`));
    expect(count(html, /<article class="example lost">/g)).toBe(3);
    expect(count(html, /<article class="example gained">/g)).toBe(2);
  });

  it('escapes what comes from rules and data', () => {
    const tricky: ReplayReport = JSON.parse(JSON.stringify(report));
    tricky.variants[0]!.commands.byTrigger[0]!.triggerId = '<script>alert(1)</script>';
    tricky.input.name = '"><img onerror=x>';
    const html = renderHtml(tricky);
    expect(html).not.toContain('<script>alert(1)');
    expect(html).not.toContain('<img onerror');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('renders a report without commands, lift or variant with empty charts that say so', () => {
    const empty: ReplayReport = JSON.parse(JSON.stringify(report));
    empty.variants = [{ ...empty.variants[0]!, commands: { byChannel: {}, byTrigger: [] }, lift: [], segments: [], decisions: { byReason: {}, byTrigger: [], series: {} } }];
    empty.diff = null;
    const html = renderHtml(empty);
    expect(html).not.toContain('<section id="differences">');
    expect(count(html, /class="empty"[^>]*>no data</g)).toBe(3);
    expect(html).toContain('no lift measured');
  });
});

describe('the report in a headless browser', () => {
  it('renders without script errors, shows the charts, and screenshots to reports/replay-report.png', async () => {
    findChromium(); // fails (never skips) with what to install when chromium is missing
    const dir = mkdtempSync(join(tmpdir(), 'lp-replay-report-'));
    const { html } = await writeReport(dir, report);
    expect(JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'))).toEqual(report);

    const dom = await dumpDom(html);
    expect(dom).toMatch(/<html[^>]*data-report-status="ok"/);
    expect(dom).not.toMatch(/<html[^>]*data-report-error/);
    const charts = Number(/data-charts="(\d+)"/.exec(dom)?.[1]);
    expect(charts).toBe(5);
    expect(count(dom, /<svg class="chart"/g)).toBe(5);
    expect(count(dom, /<path class="series"/g)).toBeGreaterThanOrEqual(4);

    mkdirSync(join(ROOT, 'reports'), { recursive: true });
    await screenshot(html, SCREENSHOT, { width: 1280, height: 2000 });
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(50_000);
    const png = await pngStats(SCREENSHOT);
    expect(png).toMatchObject({ width: 1280, height: 2000 });
    // a rendered page: many colours (text, charts, the header gradient), and well over a few percent not background
    expect(png.colours).toBeGreaterThan(200);
    expect(png.inkShare).toBeGreaterThan(0.1);
  });
});
