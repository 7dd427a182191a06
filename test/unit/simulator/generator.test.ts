import { TouchpointGenerator } from '../../../simulator/generator';
import { buildModel } from '../../../simulator/model';
import { createPopulation } from '../../../simulator/population';
import { parseEventId } from '../../../simulator/responder';
import { localHour } from '../../../simulator/sessions';
import { countBy, DAY, personOf, personasModel, simulate, variantConfig } from './support';

describe('the touchpoint generator', () => {
  it('gives the same touchpoints, byte for byte, for the same seed', () => {
    const a = simulate(11, 300, 7).events;
    const b = simulate(11, 300, 7).events;
    expect(a.length).toBeGreaterThan(5_000);
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
  });

  it('gives other touchpoints for another seed', () => {
    const a = simulate(11, 300, 7).events;
    const b = simulate(12, 300, 7).events;
    expect(b.length).toBeGreaterThan(3_000);
    expect(b.map((t) => t.eventId)).not.toEqual(a.map((t) => t.eventId));
    expect(JSON.stringify(b.slice(0, 50).map((t) => t.identifiers))).not.toBe(JSON.stringify(a.slice(0, 50).map((t) => t.identifiers)));
  });

  it('keeps a person as they were when more people are simulated', () => {
    const small = simulate(5, 100, 5).events.filter((t) => parseEventId(t.eventId)!.person < 100);
    const large = simulate(5, 250, 5).events.filter((t) => parseEventId(t.eventId)!.person < 100);
    expect(small.length).toBeGreaterThan(1_000);
    expect(JSON.stringify(large)).toBe(JSON.stringify(small));
  });

  it('emits in event-time order within the period, with unique event ids of the seed', () => {
    const sim = simulate(3, 500, 10);
    const { events, generator, population } = sim;
    const start = personasModel().epoch;
    expect(generator.start).toBe(start);
    expect(generator.end).toBe(start + 10 * DAY);
    for (let i = 1; i < events.length; i++) {
      if (events[i]!.occurredAt < events[i - 1]!.occurredAt) throw new Error(`out of order at ${i}: ${events[i]!.eventId}`);
    }
    expect(events[0]!.occurredAt).toBeGreaterThanOrEqual(start);
    expect(events[events.length - 1]!.occurredAt).toBeLessThan(start + 10 * DAY);
    expect(new Set(events.map((t) => t.eventId)).size).toBe(events.length);
    expect(events.every((t) => parseEventId(t.eventId)?.tag === population.tag)).toBe(true);
    expect(generator.stats.touchpoints).toBe(events.length);
    expect(generator.done).toBe(true);
    expect(generator.progress()).toBeGreaterThan(0.99);
  });

  it('fills every field of the Touchpoint schema and every channel the personas use', () => {
    const { events } = simulate(4, 600, 14);
    const fields = ['eventId', 'occurredAt', 'receivedAt', 'channel', 'eventType', 'identifiers', 'authenticated', 'sessionId', 'page', 'searchTerms', 'amount', 'balance', 'source', 'consent', 'outcome', 'timeZone', 'attributes'];
    for (const t of events.slice(0, 2_000)) expect(Object.keys(t)).toEqual(fields);
    const channels = new Set(events.map((t) => t.channel));
    for (const c of ['web', 'app', 'online_banking', 'atm', 'transaction', 'call_centre', 'email']) expect(channels).toContain(c);
    const types = new Set(events.map((t) => t.eventType));
    for (const e of ['page_view', 'search', 'add_to_cart', 'purchase', 'login', 'logout', 'bill_payment', 'balance_view', 'transfer', 'withdrawal', 'call', 'email_open', 'email_click', 'consent_updated']) {
      expect(types).toContain(e);
    }
    const pageViews = events.filter((t) => t.eventType === 'page_view' && t.channel === 'web');
    expect(pageViews.every((t) => t.page!.path!.startsWith('/') && t.page!.depth! >= 1 && t.page!.dwellMs! >= 2_000)).toBe(true);
    const landings = pageViews.filter((t) => t.source !== null);
    expect(new Set(landings.map((t) => t.source!.medium))).toEqual(new Set(['direct', 'organic', 'paid_search', 'social', 'email', 'referral']));
    expect(landings.some((t) => t.source!.campaign === `${t.page!.category}-paid_search`)).toBe(true);
    expect(events.filter((t) => t.eventType === 'withdrawal').every((t) => t.amount!.minorUnits < 0 && t.balance !== null)).toBe(true);
  });

  it('follows the personas habits: nine online-banking visits and twelve ATM uses a month (90% hold a card)', () => {
    const sim = simulate(21, 3_000, 30);
    const everyday = sim.population.persons.filter((p) => p.persona.id === 'everyday_bank_customer');
    expect(everyday.length).toBeGreaterThan(800);
    const sessions = new Map<string, Set<string>>();
    for (const t of sim.events) {
      if (t.sessionId === null || personOf(sim, t).persona.id !== 'everyday_bank_customer') continue;
      const set = sessions.get(t.channel) ?? new Set<string>();
      set.add(t.sessionId);
      sessions.set(t.channel, set);
    }
    const perPerson = (channel: string) => sessions.get(channel)!.size / everyday.length;
    expect(perPerson('online_banking')).toBeGreaterThan(9 * 0.93);
    expect(perPerson('online_banking')).toBeLessThan(9 * 1.07);
    const withCard = everyday.filter((p) => p.cardToken !== null).length / everyday.length;
    expect(perPerson('atm')).toBeGreaterThan(12 * withCard * 0.93);
    expect(perPerson('atm')).toBeLessThan(12 * withCard * 1.07);
    // people differ: the busiest do many times what the quietest do
    const logins = countBy(
      sim.events.filter((t) => t.channel === 'online_banking' && t.eventType === 'login' && personOf(sim, t).persona.id === 'everyday_bank_customer'),
      (t) => personOf(sim, t).id,
    );
    expect(Math.max(...logins.values())).toBeGreaterThan(2 * Math.min(...logins.values()));
  });

  it('grows the touchpoint count with people and with days', () => {
    const base = simulate(8, 400, 10).events.length;
    const morePeople = simulate(8, 800, 10).events.length;
    const moreDays = simulate(8, 400, 20).events.length;
    expect(morePeople / base).toBeGreaterThan(1.8);
    expect(morePeople / base).toBeLessThan(2.2);
    expect(moreDays / base).toBeGreaterThan(1.8);
    expect(moreDays / base).toBeLessThan(2.2);
  });

  it('follows the daily rhythm in the person`s local time: no ATM use at 2-4 am, most web visits in the evening', () => {
    const sim = simulate(9, 1_500, 14);
    const atmHours = countBy(
      sim.events.filter((t) => t.channel === 'atm'),
      (t) => String(localHour(t.occurredAt, personOf(sim, t).zone.offsetMs)),
    );
    for (const h of ['2', '3', '4']) expect(atmHours.get(h) ?? 0).toBe(0);
    expect(atmHours.get('12') ?? 0).toBeGreaterThan(50);
    const logins = sim.events.filter((t) => t.eventType === 'login' && t.channel === 'online_banking');
    const evening = logins.filter((t) => {
      const h = localHour(t.occurredAt, personOf(sim, t).zone.offsetMs);
      return h >= 18 && h <= 22;
    }).length;
    const night = logins.filter((t) => localHour(t.occurredAt, personOf(sim, t).zone.offsetMs) <= 4).length;
    expect(evening).toBeGreaterThan(5 * night);
    expect(new Set(sim.events.map((t) => t.timeZone).filter((z) => z !== null))).toEqual(new Set(['Europe/Dublin', 'Europe/London', 'America/New_York']));
  });

  it('lets a declining habit dry up: card-churn risks use their card less and less', () => {
    const sim = simulate(10, 3_000, 30);
    const mid = personasModel().epoch + 15 * DAY;
    const purchases = sim.events.filter((t) => t.channel === 'transaction' && personOf(sim, t).persona.id === 'card_churn_risk');
    const early = purchases.filter((t) => t.occurredAt < mid).length;
    const late = purchases.length - early;
    // rate factor 1 - 0.8 t/month: mean 0.8 over the first half, 0.4 over the second
    expect(late / early).toBeGreaterThan(0.35);
    expect(late / early).toBeLessThan(0.65);
  });

  it('runs the scenarios the triggers look for', () => {
    const sim = simulate(12, 3_000, 14);
    const calculator = countBy(
      sim.events.filter((t) => t.eventType === 'page_view' && t.page?.path === '/mortgages/calculator'),
      (t) => `${personOf(sim, t).id}:${Math.floor(t.occurredAt / DAY)}`,
    );
    expect([...calculator.values()].filter((n) => n >= 3).length).toBeGreaterThan(20);
    const lowBills = sim.events.filter((t) => t.eventType === 'bill_payment' && t.balance!.minorUnits < 10_000);
    expect(lowBills.length).toBeGreaterThan(20);
    expect(lowBills.filter((t) => personOf(sim, t).atRisk).length / lowBills.length).toBeGreaterThan(0.3);
    const carts = sim.events.filter((t) => t.eventType === 'add_to_cart');
    const bought = new Set(sim.events.filter((t) => t.eventType === 'purchase' && t.channel !== 'transaction').map((t) => t.sessionId));
    const abandoned = carts.filter((t) => !bought.has(t.sessionId));
    expect(abandoned.length).toBeGreaterThan(100);
    expect(carts.length - abandoned.length).toBeGreaterThan(50);
    const cancellations = sim.events.filter((t) => t.page?.path === '/cards/cancel' || t.attributes.call_reason === 'cancel');
    expect(cancellations.filter((t) => personOf(sim, t).persona.id === 'card_churn_risk').length / cancellations.length).toBeGreaterThan(0.5);
    const anonymousSearches = countBy(
      sim.events.filter((t) => t.eventType === 'search' && t.channel === 'web' && t.identifiers.every((i) => i.type !== 'customer_id')),
      (t) => t.sessionId!,
    );
    expect([...anonymousSearches.values()].filter((n) => n >= 3).length).toBeGreaterThan(50);
  });

  it('starts every consenting person with consent_updated grants and changes some over time', () => {
    const sim = simulate(13, 2_000, 60);
    const consents = sim.events.filter((t) => t.eventType === 'consent_updated');
    const epoch = personasModel().epoch;
    const holders = sim.population.persons.filter((p) => p.consent.email || p.consent.sms || p.consent.push);
    const firstByPerson = new Map<string, (typeof consents)[number]>();
    for (const t of consents) if (!firstByPerson.has(personOf(sim, t).id)) firstByPerson.set(personOf(sim, t).id, t);
    // everyone's first consent event is a grant: what they held at the start, or a first opt-in
    expect([...firstByPerson.values()].every((t) => t.consent!.granted && t.consent!.purpose === 'marketing')).toBe(true);
    const initial = consents.filter((t) => t.occurredAt < epoch + 6 * 3_600_000 && t.consent!.granted);
    expect(initial.length).toBeGreaterThan(1_000);
    expect(new Set(initial.map((t) => t.consent!.channel))).toEqual(new Set(['email', 'sms', 'push']));
    expect(consents.some((t) => !t.consent!.granted)).toBe(true);
    expect(holders.length).toBeGreaterThan(500);
    // a consent is reported on an identifier the person can be reached by
    const emailGrant = initial.find((t) => t.consent!.channel === 'email')!;
    expect(personOf(sim, emailGrant).email).not.toBeNull();
  });

  it('emits malformed touchpoints only when the personas file asks for them', () => {
    expect(simulate(14, 300, 5).events.some((t) => t.attributes.simulator_malformed !== undefined)).toBe(false);
    const model = buildModel(variantConfig(['malformedShare: 0', 'malformedShare: 0.05']));
    const { events } = simulate(14, 300, 5, model);
    const malformed = events.filter((t) => t.attributes.simulator_malformed !== undefined);
    expect(malformed.length / events.length).toBeGreaterThan(0.035);
    expect(malformed.length / events.length).toBeLessThan(0.065);
    expect(new Set(malformed.map((t) => t.attributes.simulator_malformed))).toEqual(new Set(['no_identifiers', 'blocked_identifiers', 'undecodable']));
    expect(malformed.filter((t) => t.attributes.simulator_malformed === 'no_identifiers').every((t) => t.identifiers.length === 0)).toBe(true);
  });

  it('refuses a population that another generator already used, and a period of no days', () => {
    const population = createPopulation({ seed: 1, people: 10, model: personasModel() });
    expect(() => new TouchpointGenerator(population, { days: 0 })).toThrow(/days must be above 0/);
    new TouchpointGenerator(population, { days: 1 });
    expect(() => new TouchpointGenerator(population, { days: 1 })).toThrow(/already used/);
  });

  it('interleaves injected touchpoints in event-time order and emits them after the period too', () => {
    const population = createPopulation({ seed: 2, people: 50, model: personasModel() });
    const generator = new TouchpointGenerator(population, { days: 1 });
    const epoch = personasModel().epoch;
    const mk = (eventId: string, occurredAt: number) => ({ ...generator.take()!, eventId, occurredAt });
    generator.inject([mk('late', epoch + 2 * DAY), mk('noon', epoch + DAY / 2)]);
    const out = [...generator];
    const noon = out.findIndex((t) => t.eventId === 'noon');
    expect(noon).toBeGreaterThan(0);
    expect(out[noon - 1]!.occurredAt).toBeLessThanOrEqual(epoch + DAY / 2);
    expect(out[noon + 1]!.occurredAt).toBeGreaterThanOrEqual(epoch + DAY / 2);
    expect(out[out.length - 1]!.eventId).toBe('late');
    expect(generator.stats.injected).toBe(2);
    expect(generator.clock).toBe(epoch + 2 * DAY);
  });
});
