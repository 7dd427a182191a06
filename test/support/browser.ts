import { readFileSync } from 'node:fs';
import type { Result as AxeResult } from 'axe-core';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { findChromium, QUIET_FLAGS } from './chromium';

/**
 * Browser tests on playwright-core and Debian's chromium (findChromium():
 * it fails, never skips, when chromium is missing).
 *
 *   const browser = await openBrowser();
 *   const { page, problems } = await browser.newPage();
 *   await page.goto(url);
 *   expect(problems).toEqual([]);                 // no console error/warning, page error, failed request, HTTP error
 *   expect(serious(await browser.axe(page))).toEqual([]);
 *   await browser.close();
 *
 * Every page gets a context of its own (its own sessionStorage and cookies).
 * HTTP answers of 400 and above are problems unless `allowHttp` says they
 * are expected (a lookup that finds no one answers 404); chromium's own
 * "Failed to load resource" console line for them is folded into that one
 * entry.
 */

export interface BrowserProblem {
  kind: 'console-error' | 'console-warning' | 'page-error' | 'request-failed' | 'http';
  text: string;
  /** The resource or script it is about, when known. */
  url?: string;
}

export interface PageOptions {
  viewport?: { width: number; height: number };
  /** HTTP answers >= 400 that are part of the scenario (not problems). */
  allowHttp?: (url: string, status: number) => boolean;
}

export interface RecordedPage {
  page: Page;
  /** Everything that went wrong on the page so far, in order (a live array). */
  problems: BrowserProblem[];
}

/** One axe-core violation, as axe.run reports it. */
export type AxeViolation = AxeResult;

export interface TestBrowser {
  newPage(options?: PageOptions): Promise<RecordedPage>;
  /**
   * Runs axe-core (node_modules/axe-core/axe.min.js) on the page as it is
   * now and answers its violations. The script is evaluated through the
   * devtools protocol rather than added as a <script> tag, so a page's
   * Content-Security-Policy neither blocks it nor is loosened for it.
   */
  axe(page: Page, options?: { include?: string }): Promise<AxeViolation[]>;
  close(): Promise<void>;
}

const FAILED_RESOURCE = /^Failed to load resource: /;

/** Violations axe rates serious or critical. */
export function serious(violations: AxeViolation[]): { id: string; impact: string; help: string; targets: string[] }[] {
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact ?? '', help: v.help, targets: v.nodes.map((n) => n.target.join(' ')) }));
}

export async function openBrowser(): Promise<TestBrowser> {
  const browser: Browser = await chromium.launch({ executablePath: findChromium(), headless: true, args: QUIET_FLAGS }); // playwright adds --headless and a fresh profile
  const contexts: BrowserContext[] = [];
  let axeSource: string | undefined;

  return {
    async newPage(options: PageOptions = {}) {
      const context = await browser.newContext({ viewport: options.viewport ?? { width: 1360, height: 900 } });
      contexts.push(context);
      const page = await context.newPage();
      const problems: BrowserProblem[] = [];
      const allowHttp = options.allowHttp ?? (() => false);
      page.on('console', (message) => {
        const type = message.type();
        if (type !== 'error' && type !== 'warning') return;
        if (FAILED_RESOURCE.test(message.text())) return; // reported as 'http' or 'request-failed'
        problems.push({ kind: type === 'error' ? 'console-error' : 'console-warning', text: message.text(), url: message.location().url || undefined });
      });
      page.on('pageerror', (error) => problems.push({ kind: 'page-error', text: error.stack ?? error.message }));
      page.on('requestfailed', (request) => {
        const failure = request.failure()?.errorText ?? 'failed';
        // a navigation away from a page aborts what it was still loading: not a problem
        if (failure === 'net::ERR_ABORTED') return;
        problems.push({ kind: 'request-failed', text: `${request.method()} ${request.url()}: ${failure}`, url: request.url() });
      });
      page.on('response', (response) => {
        const status = response.status();
        if (status >= 400 && !allowHttp(response.url(), status)) {
          problems.push({ kind: 'http', text: `${response.request().method()} ${response.url()}: ${status}`, url: response.url() });
        }
      });
      return { page, problems };
    },

    async axe(page, options = {}) {
      axeSource ??= readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
      if (!(await page.evaluate('typeof window.axe === "object"'))) await page.evaluate(axeSource);
      const context = JSON.stringify(options.include ?? 'html');
      return (await page.evaluate(`window.axe.run(document.querySelector(${context}), { resultTypes: ['violations'] }).then((r) => r.violations)`)) as AxeViolation[];
    },

    async close() {
      for (const context of contexts) await context.close().catch(() => undefined);
      await browser.close();
    },
  };
}
