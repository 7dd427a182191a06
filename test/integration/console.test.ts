import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { ConsoleDecision, ConsoleProfile, LiveSnapshot, LookupAnswer } from '../../console/model';
import { freePort } from '../../proof/fleet';
import { createPopulation } from '../../simulator/population';
import { parseEventId } from '../../simulator/responder';
import { openBrowser, serious, type TestBrowser } from '../support/browser';
import { pngStats } from '../support/chromium';
import { eventually } from '../support/processes';

/**
 * The console on the real product: `npm run demo` (local stack, engine,
 * a simulated population answering it) prints the console's link first; a
 * real chromium opens it while the stream runs and watches the live charts
 * move, then an agent looks a simulated person up by the phone number they
 * would say, and sees their page: journey, scores, and a decision that was
 * not sent, with the checks that refused it. No console errors, no serious
 * accessibility violations. Screenshots: reports/console/engine-*.png.
 */
jest.setTimeout(240_000);

// The page's own globals, for functions that run in it (the console's CSP has no 'unsafe-eval').
// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare const document: any;

const ROOT = join(__dirname, '..', '..');
const SHOTS = join(ROOT, 'reports', 'console');
const TOKEN = 'console-test-token';
const SEED = 5;
const PEOPLE = 1500;

/** A phone number as a caller says it: Irish numbers nationally ("087 123 4567"), others spaced international. */
function spoken(e164: string): string {
  if (!e164.startsWith('+353')) return `${e164.slice(0, 3)} ${e164.slice(3)}`;
  const n = e164.slice(4);
  return `0${n.slice(0, 2)} ${n.slice(2, 5)} ${n.slice(5)}`;
}

describe('the console on a running demo', () => {
  let child: ChildProcess | undefined;
  let browser: TestBrowser | undefined;

  afterAll(async () => {
    await browser?.close();
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  it('is linked first by the demo, shows the live picture moving, and an agent finds a person by phone with a refused decision and why', async () => {
    const port = await freePort();
    let output = '';
    child = spawn(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'demo', 'main.ts'), '--people', String(PEOPLE), '--seed', String(SEED), '--rate', '800', '--duration', '180', '--drain', '5', '--plain'],
      { cwd: ROOT, env: { ...process.env, LP_HTTP_PORT: String(port), LP_PROFILE_API_TOKEN: TOKEN }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    let exited = false;
    child.once('exit', () => (exited = true));

    // The console's link is the first "look next" line.
    const link = await eventually(
      async () => {
        if (exited) throw new Error(`the demo exited before printing the console's link:\n${output}`);
        return /^look next +console +(\S+)$/m.exec(output)?.[1];
      },
      "the demo to print the console's link",
      90_000,
    );
    expect(link).toBe(`http://127.0.0.1:${port}/console/#token=${TOKEN}`);
    const base = `http://127.0.0.1:${port}`;
    const api = async <T>(path: string): Promise<{ status: number; body: T }> => {
      const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      return { status: response.status, body: (await response.json()) as T };
    };

    browser = await openBrowser();
    mkdirSync(SHOTS, { recursive: true });
    const live = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    await live.page.goto(link);
    await live.page.waitForFunction(() => document.querySelectorAll('.chart-figure .uplot canvas').length === 4, undefined, { timeout: 60_000 });
    expect(live.page.url()).toBe(`${base}/console/`);

    // The charts move: the newest bucket advances, and the engine's own throughput shows in them.
    const latest = async (page: Page) => Number(await page.getAttribute('#chart-throughput', 'data-latest'));
    const before = await latest(live.page);
    await live.page.waitForFunction((b) => Number(document.querySelector('#chart-throughput').dataset.latest) > b, before, { timeout: 30_000 });
    const snapshot = await eventually(
      async () => {
        const { body } = await api<LiveSnapshot>('/api/console/live');
        return body.series.touchpointsProcessed.some((rate) => rate > 0) && body.totals.commands > 0 ? body : undefined;
      },
      'the live roll-up to show processed touchpoints and commands',
      90_000,
    );
    expect(snapshot.readiness.instances).toBe(1);
    // A few buckets, for a screenshot that shows a line rather than a point.
    await live.page.waitForFunction(() => Number(document.querySelector('#chart-throughput').dataset.points) >= 10, undefined, { timeout: 60_000 });
    // Lift per trigger, once some trigger has people in both groups; which trigger gets there first depends on timing.
    const measured = await eventually(
      async () => (await api<LiveSnapshot>('/api/console/live')).body.lift.find((row) => row.treated > 0 && row.control > 0),
      'a trigger with treated and held-out people in the live lift',
      90_000,
    );
    await live.page.waitForFunction((id) => document.querySelector('#live-lift')?.textContent.includes(id), measured.triggerId, { timeout: 30_000 });
    await live.page.screenshot({ path: join(SHOTS, 'engine-live.png'), fullPage: true });
    expect(serious(await browser.axe(live.page))).toEqual([]);

    // A person the engine decided not to send something to, who has a phone the engine knows.
    const population = createPopulation({ seed: SEED, people: PEOPLE });
    const found = await eventually(
      async () => {
        const { body } = await api<LiveSnapshot>('/api/console/live');
        for (const decision of body.recent.decisions.filter((d: ConsoleDecision) => d.outcome !== 'held_out' && d.trace.checks.some((c) => !c.passed))) {
          for (const eventId of decision.trace.causeEventIds) {
            const parsed = parseEventId(eventId);
            const phone = parsed && parsed.tag === population.tag ? population.persons[parsed.person]?.phone : undefined;
            if (!phone) continue; // the engine may not have seen it yet: the lookup says
            const lookup = await api<LookupAnswer>(`/api/console/lookup/phone/${encodeURIComponent(spoken(phone.value))}`);
            if (lookup.status !== 200) continue;
            const page = await api<ConsoleProfile>(`/api/console/profiles/${encodeURIComponent(lookup.body.profileId)}`);
            if (page.status === 200 && page.body.decisions.some((d) => d.decisionId === decision.decisionId)) return { phone: spoken(phone.value), profileId: lookup.body.profileId, decision };
          }
        }
        return undefined;
      },
      'a refused decision of a person with a known phone',
      120_000,
    );

    // The agent types the number into the console's lookup, as the caller says it.
    await live.page.selectOption('#lookup-type', 'phone');
    await live.page.fill('#lookup-value', found.phone);
    await live.page.press('#lookup-value', 'Enter');
    await live.page.waitForURL(`${base}/console/profiles/${encodeURIComponent(found.profileId)}`);
    const decision = live.page.locator(`[data-decision="${found.decision.decisionId}"]`);
    await decision.waitFor();
    const refused = found.decision.trace.checks.filter((c) => !c.passed);
    const reason = await decision.locator('.reason').innerText();
    for (const check of refused) expect(reason).toContain(check.detail);
    const text = await live.page.locator('main').innerText();
    expect(text).toMatch(/Journey/);
    expect(text).toMatch(/Scores/);
    expect(await live.page.locator('.timeline li').count()).toBeGreaterThan(0);
    await live.page.screenshot({ path: join(SHOTS, 'engine-profile.png'), fullPage: true });
    expect(serious(await browser.axe(live.page))).toEqual([]);

    expect(live.problems).toEqual([]);
    for (const shot of ['engine-live.png', 'engine-profile.png']) expect((await pngStats(join(SHOTS, shot))).inkShare).toBeGreaterThan(0.02);
    process.stdout.write(`console screenshots: ${join(SHOTS, 'engine-live.png')}, ${join(SHOTS, 'engine-profile.png')}\n`);

    // Ctrl-C: the demo stops cleanly (and deletes its run's topics).
    const stopped = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    expect(await stopped).toBe(0);
  });
});
