import { loadConfigFile } from '../../../config/load';
import { join } from 'node:path';
import { identityFile } from '../../../processors/identity/config';
import { IdentifierHasher } from '../../../processors/identity/identifiers';
import type { Touchpoint } from '../../../processors/model/touchpoint';
import { groundTruth } from '../../../simulator/truth';
import { personOf, simulate, type Simulation } from './support';

const JUNK = new Set(['null', '', '0', 'anonymous', 'undefined']);
const hasher = new IdentifierHasher(loadConfigFile(identityFile, join(__dirname, '../../../config/identity.yaml'), undefined), 'test-secret');

const value = (t: Touchpoint, type: string) => t.identifiers.find((i) => i.type === type && !JUNK.has(i.value))?.value;

describe('identity realism', () => {
  let sim: Simulation;
  beforeAll(() => {
    sim = simulate(31, 3_000, 30);
  });

  it('has anonymous web visitors who later log in: their cookie meets a customer id on an authenticated login', () => {
    const anonymousFirst = new Map<string, number>();
    const laterLogin = new Set<string>();
    for (const t of sim.events) {
      const anon = value(t, 'anonymous_id');
      if (anon === undefined) continue;
      const customer = value(t, 'customer_id');
      if (customer === undefined && !anonymousFirst.has(anon)) anonymousFirst.set(anon, t.occurredAt);
      if (customer !== undefined && t.eventType === 'login' && t.authenticated && anonymousFirst.has(anon) && anonymousFirst.get(anon)! < t.occurredAt) laterLogin.add(anon);
    }
    expect(laterLogin.size).toBeGreaterThan(200);
  });

  it('has people with several devices, and household tablets where two customer ids log in', () => {
    const devicesPerPerson = new Map<string, Set<string>>();
    const customersByDevice = new Map<string, Set<string>>();
    for (const t of sim.events) {
      const person = personOf(sim, t).id;
      for (const type of ['anonymous_id', 'device_id']) {
        const v = value(t, type);
        if (v === undefined) continue;
        devicesPerPerson.set(person, (devicesPerPerson.get(person) ?? new Set()).add(v));
        const customer = value(t, 'customer_id');
        if (t.eventType === 'login' && t.authenticated && customer !== undefined) customersByDevice.set(v, (customersByDevice.get(v) ?? new Set()).add(customer));
      }
    }
    expect([...devicesPerPerson.values()].filter((s) => s.size >= 3).length).toBeGreaterThan(300);
    const shared = [...customersByDevice].filter(([, customers]) => customers.size >= 2);
    expect(shared.length).toBeGreaterThan(10);
    const truth = groundTruth(sim.population, sim.generator);
    const sharedInTruth = new Map(truth.shared.map((s) => [s.value, s.persons]));
    for (const [device] of shared) expect(sharedInTruth.get(device)).toHaveLength(2);
  });

  it('verifies call-centre callers: authenticated calls carry customer id and phone, others only the phone', () => {
    const calls = sim.events.filter((t) => t.eventType === 'call');
    expect(calls.length).toBeGreaterThan(100);
    const verified = calls.filter((t) => t.authenticated);
    expect(verified.length / calls.length).toBeGreaterThan(0.6);
    expect(verified.every((t) => value(t, 'customer_id') !== undefined && value(t, 'phone') !== undefined)).toBe(true);
    expect(calls.filter((t) => !t.authenticated).every((t) => value(t, 'customer_id') === undefined && value(t, 'phone') !== undefined)).toBe(true);
  });

  it('sends raw spellings (e-mail case and spaces, national phone numbers) that the engine normalises to the truth', () => {
    const truth = groundTruth(sim.population, sim.generator);
    const canonical = new Map(truth.persons.map((p) => [p.id, new Set(p.identifiers.map((i) => `${i.type}:${i.value}`))]));
    let variants = 0;
    let national = 0;
    let checked = 0;
    for (const t of sim.events) {
      for (const id of t.identifiers) {
        if ((id.type !== 'email' && id.type !== 'phone') || JUNK.has(id.value)) continue;
        const normalised = hasher.normalise(id.type, id.value);
        if (!normalised.ok) throw new Error(`${id.type} '${id.value}' does not normalise: ${normalised.reason}`);
        expect(canonical.get(personOf(sim, t).id)!.has(`${id.type}:${normalised.value}`)).toBe(true);
        if (id.value !== normalised.value && id.type === 'email') variants++;
        if (id.value !== normalised.value && id.type === 'phone') national++;
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(1_000);
    expect(variants).toBeGreaterThan(100);
    expect(national).toBeGreaterThan(50);
    expect(sim.events.some((t) => t.identifiers.some((i) => /^08\d \d{3} \d{4}$/.test(i.value)))).toBe(true);
  });

  it('adds junk identifiers now and then, which the engine blocks', () => {
    const junk = sim.events.filter((t) => t.identifiers.some((i) => JUNK.has(i.value)));
    expect(junk.length).toBeGreaterThan(100);
    expect(junk.length / sim.events.length).toBeLessThan(0.1);
    for (const t of junk.slice(0, 200)) {
      for (const i of t.identifiers.filter((x) => JUNK.has(x.value))) expect(hasher.normalise(i.type, i.value).ok).toBe(false);
    }
  });

  it('carries two real identifiers together only on authenticated events, except e-mail click-throughs', () => {
    const linking = sim.events.filter((t) => t.authenticated && t.identifiers.filter((i) => !JUNK.has(i.value)).length >= 2);
    expect(new Set(linking.map((t) => t.eventType))).toEqual(new Set(['login', 'call', 'withdrawal', 'balance_view', 'bill_payment', 'transfer', 'page_view', 'search', 'logout', 'purchase', 'add_to_cart']));
    const unauthenticatedPairs = sim.events.filter((t) => !t.authenticated && t.identifiers.filter((i) => !JUNK.has(i.value)).length >= 2);
    expect(new Set(unauthenticatedPairs.map((t) => t.eventType))).toEqual(new Set(['email_click']));
  });
});
