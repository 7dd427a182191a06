import { join } from 'node:path';
import { whatNext } from '../../../console/next';
import { loadProductConfig } from '../../../config/product';
import { emptyProfile } from '../../../processors/model/profile-state';
import type { EligibilityConfig, TriggerRules, TriggerSpec } from '../../../processors/triggers/config';
import { DAY, grant, Harness, HOUR, MINUTE, onEvent, policy, rules, T0, touch, type TestInput } from '../triggers/support';

const calculator = { page: { path: '/mortgages/calculator', category: 'mortgages', product: null, depth: null, scrollPercent: null, dwellMs: null } };

const mortgageSequence: TriggerSpec = {
  id: 'mortgage_calculator_repeat',
  description: 'Viewed the mortgage calculator 3 times within a day',
  grace: '1h',
  when: { sequence: { steps: [{ eventType: 'page_view', path: '/mortgages/*', times: 3 }], within: '1d' } },
  engage: { action: 'banner', contentRef: 'mortgage-advice', channels: ['web', 'email'], maxDelay: '2h' },
};

const cartAbandoned: TriggerSpec = {
  id: 'cart_abandoned',
  description: 'Added to cart, then no purchase within 30 minutes',
  when: { absence: { after: { eventType: 'add_to_cart' }, missing: { eventType: 'purchase' }, within: '30m' } },
  engage: { action: 'email', contentRef: 'cart-reminder', channels: ['email'], maxDelay: '15m' },
};

const churn: TriggerSpec = {
  id: 'card_churn_retention',
  description: 'Churn risk rose above 20',
  when: { scoreCrosses: { score: 'churn_risk', above: 20 } },
  engage: { action: 'offer', contentRef: 'fee-waiver', channels: ['email'] },
};

const consenting = (id: string): TestInput => grant(id, `${id}-consent`, T0 - HOUR, '*', 'marketing');
const view = (eventId: string, at: number): TestInput => touch('p1', eventId, at, 'page_view', calculator);
const iso = (at: number): string => new Date(at).toISOString();

/** Runs the inputs through the trigger and eligibility processors and asks what comes next for p1 at `at`. */
async function nextFor(triggers: TriggerRules, inputs: TestInput[], at: number, eligibility: EligibilityConfig = policy()) {
  const h = await Harness.create({ rules: triggers, policy: eligibility });
  await h.send(consenting('p1'), ...inputs);
  return { h, next: whatNext(await h.profile('p1'), { triggers, eligibility }, at) };
}

describe("the console's next view", () => {
  describe('triggers', () => {
    const all = rules([onEvent('welcome_back', 'login'), mortgageSequence, cartAbandoned, churn]);

    it('shows a sequence 2 of 3 steps in, lapsing a window after its first counted event, and leaves out rules with no progress', async () => {
      const { next } = await nextFor(all, [touch('p1', 'l1', T0, 'login'), view('v1', T0), view('v2', T0 + HOUR)], T0 + HOUR);
      expect(next.triggers).toEqual([
        {
          triggerId: 'mortgage_calculator_repeat',
          description: 'Viewed the mortgage calculator 3 times within a day',
          kind: 'sequence',
          progress: 2 / 3,
          detail: '2 of 3 steps within 1d',
          until: T0 + DAY,
          blockedBy: null,
        },
      ]);
    });

    it('counts only the steps whose window is still open at the time asked', async () => {
      const { h } = await nextFor(all, [view('v1', T0), view('v2', T0 + HOUR)], T0 + HOUR);
      const later = whatNext(await h.profile('p1'), { triggers: all, eligibility: policy() }, T0 + DAY + MINUTE);
      expect(later.triggers.map((t) => [t.progress, t.detail, t.until])).toEqual([[1 / 3, '1 of 3 steps within 1d', T0 + HOUR + DAY]]);
    });

    it('shows an absence waiting for its deadline first, with what would cancel it, and drops it once cancelled', async () => {
      const { h, next } = await nextFor(all, [view('v1', T0), touch('p1', 'c1', T0 + MINUTE, 'add_to_cart')], T0 + MINUTE);
      const deadline = T0 + 31 * MINUTE;
      expect(next.triggers.map((t) => t.triggerId)).toEqual(['cart_abandoned', 'mortgage_calculator_repeat']);
      expect(next.triggers[0]).toMatchObject({ kind: 'absence', progress: 1, until: deadline, detail: `fires at ${iso(deadline)} unless purchase happens` });

      await h.send(touch('p1', 'b1', T0 + 10 * MINUTE, 'purchase'));
      const after = whatNext(await h.profile('p1'), { triggers: all, eligibility: policy() }, T0 + 10 * MINUTE);
      expect(after.triggers.map((t) => t.triggerId)).toEqual(['mortgage_calculator_repeat']);
    });

    it('shows a score on its way to a threshold, and nothing once it is past it', async () => {
      const below = await nextFor(all, [touch('p1', 's1', T0, 'page_view', { scores: { churn_risk: 5 } })], T0);
      expect(below.next.triggers).toMatchObject([{ triggerId: 'card_churn_retention', kind: 'score', progress: 0.25, detail: 'churn_risk is 5; fires when it reaches 20', until: null }]);
      const past = await nextFor(all, [touch('p1', 's1', T0, 'page_view', { scores: { churn_risk: 25 } })], T0);
      expect(past.next.triggers).toEqual([]);
    });

    it('never shows a disabled rule, even with progress kept from before it was disabled', async () => {
      const { h } = await nextFor(all, [view('v1', T0), view('v2', T0 + HOUR)], T0 + HOUR);
      const disabled = rules([{ ...mortgageSequence, enabled: false }, cartAbandoned]);
      expect((await h.profile('p1')).engagement.patterns[mortgageSequence.id]).toBeDefined();
      expect(whatNext(await h.profile('p1'), { triggers: disabled, eligibility: policy() }, T0 + HOUR).triggers).toEqual([]);
    });

    it("says a rule in its cooldown is blocked until the cooldown's end", async () => {
      const fired = T0 + 2 * HOUR;
      const { h, next } = await nextFor(all, [view('v1', T0), view('v2', T0 + HOUR), view('v3', fired), view('v4', fired + HOUR)], fired + HOUR);
      expect(h.commands.map((c) => c.triggerId)).toEqual(['mortgage_calculator_repeat']);
      expect(next.triggers).toMatchObject([{ triggerId: 'mortgage_calculator_repeat', progress: 1 / 3, blockedBy: `cooldown until ${iso(fired + DAY)}` }]);
    });

    it('says a rule the person dismissed is blocked until the dismissal cooldown ends', async () => {
      const quick = rules([{ ...mortgageSequence, engage: { ...mortgageSequence.engage, cooldown: '1ms' } }]);
      const eligibility = policy({ fatigue: { caps: [], dismissals: { countAs: 0, triggerCooldown: '2d' } } });
      const h = await Harness.create({ rules: quick, policy: eligibility });
      await h.send(consenting('p1'), view('v1', T0), view('v2', T0 + MINUTE), view('v3', T0 + 2 * MINUTE));
      const commandId = h.commands[0]!.commandId;
      await h.send(touch('p1', 'd1', T0 + HOUR, 'dismissed', { outcome: { commandId, triggerId: 'mortgage_calculator_repeat' } }), view('v4', T0 + 2 * HOUR));
      const next = whatNext(await h.profile('p1'), { triggers: quick, eligibility }, T0 + 2 * HOUR);
      expect(next.triggers.map((t) => t.blockedBy)).toEqual([`dismissed; cooldown until ${iso(T0 + HOUR + 2 * DAY)}`]);
    });

    it("says a rule whose audience (`who`) the person is not in is blocked, with the condition", async () => {
      const anonymousOnly = rules([{ ...mortgageSequence, who: { known: false } }]);
      const { next } = await nextFor(anonymousOnly, [view('v1', T0)], T0);
      expect(next.triggers.map((t) => [t.progress, t.blockedBy])).toEqual([[1 / 3, 'who not met: {known: false}']]);
    });
  });

  describe('caps', () => {
    const twoRules = rules([onEvent('first', 'login', { channels: ['web'] }), onEvent('second', 'bill_payment', { channels: ['web'] })]);
    const caps = (countAs = 0): EligibilityConfig =>
      policy({
        fatigue: {
          caps: [
            { max: 3, per: '1d' },
            { channel: 'web', max: 2, per: '7d' },
            { channel: 'email', max: 1, per: '1d' },
          ],
          dismissals: { countAs, triggerCooldown: '30d' },
        },
      });

    it('counts the commands sent within each cap, overall and per channel', async () => {
      const { h, next } = await nextFor(twoRules, [touch('p1', 'l1', T0, 'login'), touch('p1', 'b1', T0 + HOUR, 'bill_payment')], T0 + HOUR, caps());
      expect(h.commands).toHaveLength(2);
      expect(next.caps).toEqual([
        { channel: null, max: 3, per: '1d', used: 2, left: 1 },
        { channel: 'web', max: 2, per: '7d', used: 2, left: 0 },
        { channel: 'email', max: 1, per: '1d', used: 0, left: 1 },
      ]);
      const tomorrow = whatNext(await h.profile('p1'), { triggers: twoRules, eligibility: caps() }, T0 + DAY + 30 * MINUTE);
      expect(tomorrow.caps.map((c) => c.used)).toEqual([1, 2, 0]);
    });

    it('counts held-out decisions as the commands they stand for', async () => {
      const heldOut = rules([onEvent('first', 'login', { channels: ['web'] }), onEvent('second', 'bill_payment', { channels: ['web'], holdoutPercent: 100 })]);
      const { h, next } = await nextFor(heldOut, [touch('p1', 'l1', T0, 'login'), touch('p1', 'b1', T0 + HOUR, 'bill_payment')], T0 + HOUR, caps());
      expect([h.commands.length, h.decisions.map((d) => d.outcome)]).toEqual([1, ['held_out']]);
      expect(next.caps.map((c) => [c.channel, c.used, c.left])).toEqual([
        [null, 2, 1],
        ['web', 2, 0],
        ['email', 0, 1],
      ]);
    });

    it('weighs dismissals in the overall caps only', async () => {
      const h = await Harness.create({ rules: twoRules, policy: caps(1) });
      await h.send(consenting('p1'), touch('p1', 'l1', T0, 'login'));
      await h.send(touch('p1', 'd1', T0 + MINUTE, 'dismissed', { outcome: { commandId: h.commands[0]!.commandId, triggerId: null } }));
      const next = whatNext(await h.profile('p1'), { triggers: twoRules, eligibility: caps(1) }, T0 + MINUTE);
      expect(next.caps.map((c) => [c.channel, c.used, c.left])).toEqual([
        [null, 2, 1],
        ['web', 1, 1],
        ['email', 0, 1],
      ]);
    });
  });

  it("reads the product's own config: every cap of engagement.yaml, nothing pending for a new person", () => {
    const config = loadProductConfig(join(__dirname, '../../../config'));
    const next = whatNext(emptyProfile('p1', T0), config, T0);
    expect(next).toEqual({
      triggers: [],
      caps: [
        { channel: null, max: 3, per: '1d', used: 0, left: 3 },
        { channel: null, max: 8, per: '7d', used: 0, left: 8 },
        { channel: 'email', max: 1, per: '1d', used: 0, left: 1 },
        { channel: 'sms', max: 2, per: '7d', used: 0, left: 2 },
        { channel: 'call_centre', max: 1, per: '7d', used: 0, left: 1 },
      ],
    });
  });
});
