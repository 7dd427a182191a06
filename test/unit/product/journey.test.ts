import type { EngagementCommand } from '../../../processors/triggers/records';
import { HOUR, MINUTE, T0, productDriver, tp } from '../../support/product';

/** The whole product on the driver: a raw touchpoint stream in, engagement commands out. */
describe('the product topology', () => {
  it('turns a mortgage shopper journey into one call-back command', async () => {
    const driver = await productDriver();
    const me = { customer_id: 'CUST-42', anonymous_id: 'ck-42', email: 'ann@example.org', phone: '+353 87 111 2222' };
    const events = [
      tp(T0, 'web', 'login', me, { authenticated: true }),
      tp(T0 + MINUTE, 'web', 'consent_updated', { customer_id: 'CUST-42' }, { consent: { channel: '*', purpose: 'marketing', granted: true } }),
      tp(T0 + 2 * MINUTE, 'web', 'page_view', { anonymous_id: 'ck-42' }, { page: { path: '/mortgages/calculator', category: 'mortgages', product: null, depth: 2, scrollPercent: 80, dwellMs: 90_000 } }),
      tp(T0 + HOUR, 'web', 'page_view', { anonymous_id: 'ck-42' }, { page: { path: '/mortgages/calculator', category: 'mortgages', product: null, depth: 3, scrollPercent: 90, dwellMs: 120_000 } }),
      tp(T0 + 2 * HOUR, 'web', 'page_view', { anonymous_id: 'ck-42' }, { page: { path: '/mortgages/calculator', category: 'mortgages', product: null, depth: 4, scrollPercent: 95, dwellMs: 150_000 } }),
    ];
    // A web channel keys its touchpoints by the visitor's cookie, so one visitor's events stay in order.
    // The login and consent are processed (identity linked) before the browsing, as minutes apart live.
    for (const [i, t] of events.entries()) {
      driver.pipe('touchpoints.raw', Buffer.from('ck-42'), t, { timestamp: t.occurredAt });
      if (i === 1) await driver.run();
    }
    // Seconds later the arbitration window is over and the decision is made.
    await driver.advanceTime(T0 + 2 * HOUR + 10_000);
    const commands = driver.output<string, EngagementCommand>('engagement.commands').map((o) => o.value!);
    expect(commands.map((c) => c.triggerId)).toEqual(['mortgage_calculator_repeat']);
    const [command] = commands;
    expect(command).toMatchObject({ channel: 'call_centre', action: 'call_back', contentRef: 'mortgage-advisor-callback' });
    expect(command!.trace.causeEventIds).toEqual(events.slice(2).map((e) => e.eventId));
    expect(command!.trace.checks.map((c) => `${c.check}:${c.passed}`)).toEqual(expect.arrayContaining(['consent:true', 'reach:true']));
    expect(command!.expiresAt).toBeGreaterThan(command!.createdAt);
    expect(driver.output('touchpoints.raw.dlq')).toHaveLength(0);
    expect(driver.output('touchpoints.resolved.dlq')).toHaveLength(0);
  });
});
