import { mkdirSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
import { openBrowser, serious, type BrowserProblem, type PageOptions, type TestBrowser } from '../../support/browser';
import { pngStats } from '../../support/chromium';
import { MERGED_ID, PHONE, PROFILE_ID, TOKEN, startFixture } from './fixture';

/**
 * The console's pages in a real browser (Debian's chromium) against a
 * fixture of the console API (test/unit/console/fixture.ts) behind the same
 * token: sign-in from the link's fragment, lookup, the profile page, the
 * live page's moving charts, the drill-down, no console errors, axe-core,
 * the keyboard. Screenshots go to reports/console/.
 */
jest.setTimeout(120_000);

/**
 * The page's own globals, for functions that run in it (page.waitForFunction
 * with a function: the console's CSP has no 'unsafe-eval', which string
 * predicates need). Declared here so the project keeps no DOM types.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare const document: any;

const ROOT = join(__dirname, '..', '..', '..');
const SHOTS = join(ROOT, 'reports', 'console');

let fixture: { app: FastifyInstance; url: string; livePolls: () => number };
let browser: TestBrowser;

beforeAll(async () => {
  fixture = await startFixture();
  browser = await openBrowser();
  mkdirSync(SHOTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await fixture?.app.close();
});

/** A fresh page (its own sessionStorage); `problems` must stay empty unless a test says otherwise. */
async function open(options: PageOptions = {}): Promise<{ page: Page; problems: BrowserProblem[] }> {
  return browser.newPage(options);
}

/** Opens the console as the engine's printed link does. */
async function signIn(page: Page, path = '/console/'): Promise<void> {
  await page.goto(`${fixture.url}${path}#token=${TOKEN}`);
  await page.waitForSelector('h1');
}

async function lookUp(page: Page, type: string, value: string): Promise<void> {
  await page.selectOption('#lookup-type', type);
  await page.fill('#lookup-value', value);
  await page.click('#lookup button[type=submit]');
}

async function waitForProfile(page: Page, id: string): Promise<void> {
  await page.waitForURL(`${fixture.url}/console/profiles/${id}`);
  await page.waitForSelector(`.profile-head h1 >> text=${id}`);
}

/** The live page has shown a snapshot. */
const liveLoaded = (page: Page) => page.waitForFunction(() => (document.querySelector('#live-updated')?.textContent ?? '').startsWith('Updated '));

/** The text of an element as rendered (innerText), whitespace collapsed. */
const text = async (page: Page, selector: string) => (await page.innerText(selector)).replace(/\s+/g, ' ').trim();

describe('console pages (console/web) on a fixture API', () => {
  it('(a) takes the token from the fragment, keeps it for the tab, and removes it from the address bar', async () => {
    const { page, problems } = await open();
    await signIn(page);
    await liveLoaded(page);
    expect(page.url()).toBe(`${fixture.url}/console/`);
    expect(await page.evaluate('sessionStorage.getItem("listening-post.console.token")')).toBe(TOKEN);
    // the lookup's types come from /api/console/meta
    expect(await page.$$eval('#lookup-type option', (options) => options.map((o) => o.getAttribute('value')))).toEqual(['phone', 'email', 'customer_id']);
    // a reload keeps working without the fragment
    await page.reload();
    await liveLoaded(page);
    expect(problems).toEqual([]);
  });

  it('(a) without a token asks for one; a refused token asks again with a message', async () => {
    const { page, problems } = await open({ allowHttp: (url, status) => status === 401 && url.includes('/api/console/') });
    await page.goto(`${fixture.url}/console/`);
    await page.waitForSelector('h1:text("Sign in")');
    expect(await page.isVisible('label:text("Console token")')).toBe(true);

    await page.goto(`${fixture.url}/console/#token=wrong`);
    await page.waitForSelector('.token-form');
    expect(await text(page, '[role=alert]')).toContain('The engine refused the token: a valid bearer token is required');
    await page.fill('#token-value', TOKEN);
    await page.press('#token-value', 'Enter');
    await liveLoaded(page);
    expect(problems).toEqual([]);
  });

  it('(b) looks a person up by phone from the header and shows their page: journey, scores, the refused decision and why', async () => {
    const { page, problems } = await open();
    await signIn(page);
    await lookUp(page, 'phone', PHONE);
    await waitForProfile(page, PROFILE_ID);

    expect(await text(page, '.profile-head')).toContain('known');
    expect(await text(page, '.profile-head')).toMatch(/Last seen 2026-03-02 10:15:07 UTC/i);
    // the journey, newest first, across three channels shown as labelled badges
    const journey = await page.$$eval('.timeline > li', (items) => items.map((li) => li.getAttribute('data-channel')));
    expect(journey).toEqual(['web', 'app', 'web', 'app', 'email', 'web']);
    expect(await text(page, '.timeline > li:first-child')).toContain('2026-03-02 10:15:07 UTC');
    expect(await page.$$eval('.timeline .badge.channel', (badges) => [...new Set(badges.map((b) => b.textContent))].sort())).toEqual(['app', 'email', 'web']);
    // two scores, each with its top contributions
    expect(await page.$$eval('.score', (scores) => scores.map((s) => s.getAttribute('data-score')))).toEqual(['purchase_intent', 'churn_risk']);
    expect(await text(page, '[data-score=purchase_intent]')).toContain('cart add');
    // the refusal is readable without opening anything; the full trace is one click away
    const reason = page.locator('[data-decision=d-2041] .reason');
    await reason.waitFor({ state: 'visible' });
    expect(await reason.textContent()).toBe('Not sent: fatigue — 3 of 3 per 1d');
    expect(await page.isVisible('[data-decision=d-2041] .checks')).toBe(false);
    await page.click('[data-decision=d-2041] summary');
    expect(await page.$$eval('[data-decision=d-2041] .checks > li', (items) => items.map((li) => `${li.className} ${li.querySelector('.check-name')?.textContent}`))).toEqual([
      'pass consent',
      'pass quiet_hours',
      'pass cooldown',
      'fail fatigue',
      'pass arbitration',
    ]);
    // identifiers are shortened hashes only
    expect(await page.$$eval('.identifiers .hash', (codes) => codes.map((c) => c.textContent))).toEqual(['9f86d081884c…', '2c26b46b68ff…', 'fcde2b2edba5…']);
    expect(await page.content()).not.toContain(PHONE);
    // what comes next, and the caps
    expect(await text(page, '#next-title + div')).toContain('3 of 3 per 1d used, 0 left');
    expect(await page.getAttribute('progress[aria-label="price_drop: progress"]', 'value')).toBe(String(2 / 3));
    await page.screenshot({ path: join(SHOTS, 'profile.png'), fullPage: true });
    expect(problems).toEqual([]);
  });

  it('(b) says so, in a live region, when no one has that identifier', async () => {
    const { page, problems } = await open({ allowHttp: (url, status) => status === 404 && url.includes('/api/console/lookup/') });
    await signIn(page);
    await lookUp(page, 'email', 'nobody@example.com');
    await page.waitForSelector('#lookup-status:text("no one with that email")');
    expect(await page.getAttribute('#lookup-status', 'aria-live')).toBe('polite');
    expect(page.url()).toBe(`${fixture.url}/console/`);
    expect(problems).toEqual([]);
  });

  it('(c) draws the live charts with uPlot and they move as the series grow', async () => {
    const { page, problems } = await open();
    await signIn(page);
    await page.waitForFunction(() => document.querySelectorAll('.chart-figure .uplot canvas').length === 4);
    const first = Number(await page.getAttribute('#chart-throughput', 'data-points'));
    const caption = await text(page, '#chart-throughput figcaption');
    expect(first).toBeGreaterThanOrEqual(12);
    expect(caption).toMatch(/in \d+(\.\d)?\/s processed \d+(\.\d)?\/s latest bucket 2026-03-02 10:0\d:\d\d UTC/);
    // the next poll (2 s) brings one more bucket: the same chart, new data
    await page.waitForFunction((before) => Number(document.querySelector('#chart-throughput').dataset.points) > before, first, { timeout: 15_000 });
    expect(await text(page, '#chart-throughput figcaption')).not.toBe(caption);
    expect(await page.$$eval('#chart-throughput canvas', (canvases) => canvases.length)).toBe(1);
    for (const id of ['chart-triggers', 'chart-suppressions', 'chart-channels']) {
      expect(Number(await page.getAttribute(`#${id}`, 'data-points'))).toBeGreaterThan(first);
    }
    expect(await text(page, '#chart-triggers figcaption')).toMatch(/cart_abandoned .* price_drop .* welcome_series/);
    expect(await text(page, '#chart-suppressions figcaption')).toContain('held out');
    // tiles
    expect(await text(page, '#tile-ready-value')).toBe('Ready');
    expect(await text(page, '#tile-ready .tile-note')).toBe('2 instances · 24 tasks · 0 restoring');
    expect(await text(page, '#tile-lag-value')).toMatch(/^\d{3,}$/);
    // lift: the interval bar, and "not enough data"
    expect(await page.$$eval('#live-lift .ci', (bars) => bars.length)).toBe(2);
    expect(await text(page, '#live-lift tbody tr:nth-child(1)')).toContain('[+0.6, +7.9]');
    expect(await text(page, '#live-lift tbody tr:nth-child(3)')).toContain('not enough data');
    // segment sizes, largest first
    expect(await page.$$eval('#live-segments .bar-name', (names) => names.map((n) => n.textContent))).toEqual(['new customers', 'high value', 'cart openers', 'lapsed']);
    await page.screenshot({ path: join(SHOTS, 'live.png'), fullPage: true });
    expect(problems).toEqual([]);
  });

  it('(d) drills down from the roll-up to a trigger, and from there to a person', async () => {
    const { page, problems } = await open();
    await signIn(page);
    await page.click('#live-lift a:text("cart_abandoned")');
    await page.waitForURL(`${fixture.url}/console/triggers/cart_abandoned`);
    await page.waitForSelector('h1:has-text("cart_abandoned")');
    expect(await text(page, '.page-head')).toContain('Cart left for 30 min without a purchase');
    expect(await text(page, '#trigger-decisions-title + *')).toContain('fatigue — 3 of 3 per 1d');
    await page.click(`#trigger-decisions-title ~ * a:text("${PROFILE_ID}")`);
    await waitForProfile(page, PROFILE_ID);
    // and on to a profile that was merged into this one, and back
    await page.click(`.merges a:text("${MERGED_ID}")`);
    await waitForProfile(page, MERGED_ID);
    expect(await text(page, '.profile-head')).toContain('anonymous');
    await page.goBack();
    await waitForProfile(page, PROFILE_ID);
    expect(problems).toEqual([]);
  });

  it('(d) drills down from a segment size to the people who entered it', async () => {
    const { page, problems } = await open();
    await signIn(page);
    await page.click('.bars a:text("cart openers")');
    await page.waitForURL(`${fixture.url}/console/segments/cart_openers`);
    await page.waitForSelector('h1:has-text("cart_openers")');
    expect(await text(page, '.page-head')).toContain('388 people in it now');
    await page.click(`#segment-changes-title ~ * a:text("${PROFILE_ID}")`);
    await waitForProfile(page, PROFILE_ID);
    expect(problems).toEqual([]);
  });

  it('(e) no console error or warning, page error or failed request on any page', async () => {
    const { page, problems } = await open();
    await signIn(page);
    await page.waitForFunction(() => document.querySelectorAll('.chart-figure .uplot canvas').length === 4);
    for (const path of [`/console/profiles/${PROFILE_ID}`, '/console/triggers/welcome_series', `/console/profiles/${MERGED_ID}`, '/console']) {
      await page.goto(`${fixture.url}${path}`);
      await page.waitForSelector('main h1');
      await page.waitForLoadState('networkidle');
    }
    expect(problems).toEqual([]);
  });

  it('(f) axe-core finds nothing serious or critical on the live, profile, trigger and segment pages', async () => {
    const { page, problems } = await open();
    await signIn(page);
    await page.waitForFunction(() => document.querySelectorAll('.chart-figure .uplot canvas').length === 4);
    expect(serious(await browser.axe(page))).toEqual([]);
    await page.goto(`${fixture.url}/console/profiles/${PROFILE_ID}`);
    await page.waitForSelector('.timeline');
    await page.click('[data-decision=d-2041] summary');
    expect(serious(await browser.axe(page))).toEqual([]);
    await page.goto(`${fixture.url}/console/triggers/cart_abandoned`);
    await page.waitForSelector('#trigger-commands-title');
    expect(serious(await browser.axe(page))).toEqual([]);
    await page.goto(`${fixture.url}/console/segments/cart_openers`);
    await page.waitForSelector('#segment-changes-title');
    expect(serious(await browser.axe(page))).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('(g) the keyboard reaches the lookup with Tab, and Enter submits it', async () => {
    const { page, problems } = await open();
    await signIn(page);
    await page.waitForSelector('#lookup-type option', { state: 'attached' });
    let presses = 0;
    while ((await page.evaluate('document.activeElement && document.activeElement.id')) !== 'lookup-value') {
      expect(++presses).toBeLessThan(10);
      await page.keyboard.press('Tab');
    }
    expect(await page.inputValue('#lookup-type')).toBe('phone');
    await page.keyboard.type(PHONE);
    await page.keyboard.press('Enter');
    await waitForProfile(page, PROFILE_ID);
    // focus moved to the new content, and the first Tab from there is inside it
    expect(await page.evaluate('document.activeElement && document.activeElement.id')).toBe('main');
    expect(problems).toEqual([]);
  });

  it('the screenshots are rendered pages, not blank ones', async () => {
    for (const name of ['live.png', 'profile.png']) {
      const stats = await pngStats(join(SHOTS, name));
      expect(stats.width).toBe(1360);
      expect(stats.inkShare).toBeGreaterThan(0.05);
    }
    process.stdout.write(`console screenshots: ${join(SHOTS, 'live.png')}, ${join(SHOTS, 'profile.png')}\n`);
  });
});

describe('consoleAssets (console/assets.ts)', () => {
  /** A GET with the path exactly as given (fetch would resolve `..` before sending). */
  const get = (path: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>((resolve, reject) => {
      const { hostname, port } = new URL(fixture.url);
      request({ host: hostname, port, path, headers }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      })
        .on('error', reject)
        .end();
    });

  it('serves the page for every console path, without auth and without caching', async () => {
    for (const url of ['/console', '/console/', `/console/profiles/${PROFILE_ID}`, '/console/triggers/cart_abandoned']) {
      const response = await get(url);
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(response.headers['cache-control']).toBe('no-cache');
      expect(response.headers['content-security-policy']).toContain("default-src 'self'");
      expect(response.body).toContain('<script src="/console/assets/console.js" type="module">');
    }
  });

  it('serves its assets and uPlot with ETags, and nothing else', async () => {
    const js = await get('/console/assets/console.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('no-cache');
    expect((await get('/console/assets/console.js', { 'if-none-match': String(js.headers.etag) })).status).toBe(304);
    expect((await get('/console/assets/console.css')).headers['content-type']).toBe('text/css; charset=utf-8');
    expect((await get('/console/assets/favicon.svg')).headers['content-type']).toBe('image/svg+xml');
    const uplot = await get('/console/assets/vendor/uPlot.iife.min.js');
    expect(uplot.status).toBe(200);
    expect(uplot.body).toContain('uPlot');
    expect((await get('/console/assets/vendor/uPlot.min.css')).status).toBe(200);
    for (const path of [
      '/console/assets/',
      '/console/assets/missing.js',
      '/console/assets/vendor/uPlot.esm.js',
      '/console/assets/vendor/',
      '/console/assets/../model.ts',
      '/console/assets/%2e%2e/model.ts',
      '/console/assets/..%2fassets.ts',
      '/console/assets/vendor/..%2f..%2fpackage.json',
      '/console/assets/%2e%2e%2f%2e%2e%2fpackage.json',
    ]) {
      const response = await get(path);
      expect({ path, status: response.status }).toEqual({ path, status: 404 });
      expect(response.body).toBe('{"error":"no such console asset"}');
    }
  });
});
