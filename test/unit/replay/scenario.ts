import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMap, isSeq, parseDocument, type Document } from 'yaml';
import { profileIdFor } from '../../../processors/identity/identifiers';
import type { Touchpoint } from '../../../processors/model/touchpoint';
import { holdoutGroup } from '../../../processors/triggers/eligibility';
import { isRulesFile } from '../../../replay/rules';
import { CONFIG_DIR, identifierKey, MINUTE, T0, tp } from '../../support/product';

/**
 * A small day of a bank, with numbers a reader can count by hand, and the
 * rule directories the replay tests compare. The test rules are config/
 * with: arbitration window 0s (decide at once, so nothing waits for a
 * timer), no holdout by default, and 50% holdout for
 * low_balance_after_bill. With those rules the day gives:
 *
 * - low_balance_after_bill: 8 customers pay a bill in the app and drop
 *   below 100.00 EUR; 4 fall in the treatment group (a command on app), 4
 *   in control (held_out); 2 of the treated and 1 of the control buy
 *   something within the hour (conversions); 2 more pay a bill at a branch
 *   and cannot be reached (no_reachable_channel); 3 pay with money left
 *   (no firing).
 * - anonymous_search_help: 2 anonymous visitors search 3 times on the web
 *   without any consent record: no_consent.
 * - mortgage_shopper: 2 anonymous visitors read mortgage pages 3 times and
 *   use the calculator: they enter the segment, and
 *   mortgage_shopper_banner fires for them: no_consent.
 */

export const SALT = 'listening-post-1';

export interface Person {
  customerId: string;
  profileId: string;
}

/** Customers of whom the first `treated` fall in the treatment group and the next `control` in control, for a rule at 50%. */
export function customersByGroup(triggerId: string, treated: number, control: number, prefix: string): { treated: Person[]; control: Person[] } {
  const groups = { treated: [] as Person[], control: [] as Person[] };
  for (let i = 0; groups.treated.length < treated || groups.control.length < control; i++) {
    const customerId = `${prefix}-${i}`;
    const profileId = profileIdFor(identifierKey('customer_id', customerId));
    const group = holdoutGroup(SALT, triggerId, profileId, 50) === 'control' ? groups.control : groups.treated;
    if (group.length < (group === groups.control ? control : treated)) group.push({ customerId, profileId });
  }
  return groups;
}

const EUR = (minorUnits: number) => ({ minorUnits, currency: 'EUR' });

export interface BankDay {
  touchpoints: Touchpoint[];
  treated: Person[];
  control: Person[];
  unreachable: Person[];
}

export function bankDay(): BankDay {
  const { treated, control } = customersByGroup('low_balance_after_bill', 4, 4, 'LOW');
  const unreachable = [0, 1].map((i) => ({ customerId: `BRANCH-${i}`, profileId: profileIdFor(identifierKey('customer_id', `BRANCH-${i}`)) }));
  const out: Touchpoint[] = [];
  let at = T0;
  const next = (gap = 10_000) => (at += gap);
  for (const [i, p] of [...treated, ...control].entries()) {
    out.push(tp(next(), 'app', 'bill_payment', { customer_id: p.customerId }, { sessionId: `app-${i}`, amount: EUR(2000), balance: EUR(5000) }));
  }
  for (const p of unreachable) out.push(tp(next(), 'branch', 'bill_payment', { customer_id: p.customerId }, { amount: EUR(2000), balance: EUR(5000) }));
  for (let i = 0; i < 3; i++) out.push(tp(next(), 'app', 'bill_payment', { customer_id: `RICH-${i}` }, { sessionId: `rich-${i}`, amount: EUR(2000), balance: EUR(50_000) }));
  for (let v = 0; v < 2; v++) {
    for (let s = 0; s < 3; s++) out.push(tp(next(), 'web', 'search', { anonymous_id: `searcher-${v}` }, { sessionId: `search-${v}`, searchTerms: `card fees ${s}` }));
  }
  for (let v = 0; v < 2; v++) {
    for (let s = 0; s < 3; s++) {
      out.push(tp(next(), 'web', 'page_view', { anonymous_id: `reader-${v}` }, { sessionId: `read-${v}`, page: page(`/mortgages/rates-${s}`, 'mortgages') }));
    }
    out.push(tp(next(), 'web', 'page_view', { anonymous_id: `reader-${v}` }, { sessionId: `read-${v}`, page: page('/mortgages/calculator', 'mortgages') }));
  }
  // conversions within the attribution window: 2 of the treated, 1 of the control
  for (const p of [treated[0]!, treated[1]!, control[0]!]) out.push(tp(next(10 * MINUTE), 'web', 'purchase', { customer_id: p.customerId }, { amount: EUR(4999) }));
  return { touchpoints: out, treated, control, unreachable };
}

function page(path: string, category: string | null) {
  return { path, category, product: null, depth: null, scrollPercent: null, dwellMs: null };
}

// --- rule directories ---------------------------------------------------------------------------

/**
 * A rules directory made from `base` with edits: only the edited files, the
 * rest coming from the baseline when loaded with loadRuleSet's fallback, or
 * (`complete`) every rule file of `base`.
 */
export function rulesDir(edits: Record<string, (doc: Document) => void>, base = CONFIG_DIR, complete = false): string {
  const dir = mkdtempSync(join(tmpdir(), 'lp-replay-rules-'));
  if (complete) for (const file of readdirSync(base).filter(isRulesFile)) copyFileSync(join(base, file), join(dir, file));
  for (const [file, edit] of Object.entries(edits)) {
    const doc = parseDocument(readFileSync(join(base, file), 'utf8'));
    edit(doc);
    writeFileSync(join(dir, file), doc.toString());
  }
  return dir;
}

/** The index of a trigger in triggers.yaml. */
export function triggerIndex(doc: Document, id: string): number {
  const triggers = doc.get('triggers');
  if (!isSeq(triggers)) throw new Error('triggers.yaml has no triggers list');
  const index = triggers.items.findIndex((item) => isMap(item) && item.get('id') === id);
  if (index < 0) throw new Error(`no trigger ${id} in triggers.yaml`);
  return index;
}

/** config/ for the tests (a complete directory): decide at once, no holdout except 50% for low_balance_after_bill. */
export function testRules(): string {
  return rulesDir(
    {
    'engagement.yaml': (doc) => doc.setIn(['eligibility', 'arbitration', 'window'], '0s'),
    'triggers.yaml': (doc) => {
      doc.setIn(['defaults', 'holdoutPercent'], 0);
      doc.setIn(['triggers', triggerIndex(doc, 'low_balance_after_bill'), 'engage', 'holdoutPercent'], 50);
    },
    },
    CONFIG_DIR,
    true,
  );
}

/** The test rules with low_balance_after_bill disabled and anonymous_search_help a service message (allowed without consent). */
export function variantRules(testRulesDir: string): string {
  return rulesDir(
    {
      'triggers.yaml': (doc) => {
        doc.setIn(['triggers', triggerIndex(doc, 'low_balance_after_bill'), 'enabled'], false);
        doc.setIn(['triggers', triggerIndex(doc, 'anonymous_search_help'), 'engage', 'purpose'], 'service');
      },
    },
    testRulesDir,
  );
}
