import { loadSimulatorConfig, type Business, type PhoneCountry, type SimulatorConfig } from './config';
import { buildModel, MONTH, type PersonaModel, type SimulatorModel, type ZoneModel } from './model';
import { hashInts, hexId, Rng, uuidFrom } from './random';

/**
 * The simulated people of one seed. Person i depends only on (seed, i)
 * (and on i's household partner, i xor 1): a run with more people keeps
 * the first ones as they were.
 *
 * Every identifier a person can show is an IdentitySlot holding the value
 * in the engine's normalised form (e-mail trimmed and lower-cased, phone in
 * E.164); channels send raw spellings of it. The generator marks a slot
 * `used` when a touchpoint carrying it is emitted and unions the slots
 * that meet on a trusted authenticated event, so the ground truth can say
 * both "which identifiers are this person's" and "which of them the
 * engine could prove belong together".
 */

export interface IdentitySlot {
  readonly type: string;
  /** Normalised like the engine does before hashing. */
  readonly value: string;
  /** Emitted on at least one touchpoint so far. */
  used: boolean;
  /** Union-find parent: slots with one root were linked by a trusted authenticated event. */
  parent: IdentitySlot;
  /** A household device's identifier: it belongs to two people. */
  readonly shared: boolean;
}

export type DeviceKind = 'phone' | 'laptop' | 'tablet';

export interface Device {
  readonly index: number;
  readonly kind: DeviceKind;
  readonly shared: boolean;
  /** The app's install id, when the app is on the device. */
  readonly deviceId: IdentitySlot | null;
  /** Seed of the device's anonymous ids, one per cookie generation. */
  readonly anonSeed: number;
  /** Cookie generation: goes up when the cookie is cleared. */
  anonGen: number;
  anon: IdentitySlot;
}

export interface ConsentState {
  email: boolean;
  sms: boolean;
  push: boolean;
}

export class Person {
  /** Touchpoints produced so far (the last part of their event ids). */
  seq = 0;
  /** Sessions started so far. */
  sessions = 0;
  /** Current account balance, minor units (bank customers). */
  balance = 0;
  income = 0;
  nextPayday = 0;
  atRisk = false;
  household: number | null = null;
  readonly slots: IdentitySlot[] = [];
  readonly devices: Device[] = [];
  /** Session-start rates per habit, per ms, including this person's own factor. */
  rates: Float64Array = new Float64Array(0);
  readonly consent: ConsentState = { email: false, sms: false, push: false };
  customerId: IdentitySlot | null = null;
  email: IdentitySlot | null = null;
  phone: IdentitySlot | null = null;
  cardToken: IdentitySlot | null = null;
  /** `<tag>.<index>.`: event ids are this, the sequence number and a route (see eventId). */
  readonly eventPrefix: string;

  constructor(
    readonly index: number,
    readonly id: string,
    readonly persona: PersonaModel,
    readonly zone: ZoneModel,
    readonly rng: Rng,
    readonly customer: boolean,
    tag: string,
  ) {
    this.eventPrefix = `${tag}.${index}.`;
  }

  get business(): Business {
    return this.persona.business;
  }

  get timeZone(): string {
    return this.zone.zone;
  }

  addSlot(type: string, value: string, shared = false): IdentitySlot {
    const slot = { type, value, used: false, parent: null as unknown as IdentitySlot, shared };
    slot.parent = slot;
    this.slots.push(slot);
    return slot;
  }
}

export interface PopulationOptions {
  seed: number;
  people: number;
  /** Parsed personas file; simulator/personas.yaml when not given. */
  config?: SimulatorConfig;
  /** Or an already built model (to share it between populations). */
  model?: SimulatorModel;
}

export const MAX_PEOPLE = 10_000_000;

export class Population {
  readonly seed: number;
  /** Four base-36 characters derived from the seed: prefix of event ids, part of customer ids. */
  readonly tag: string;
  readonly model: SimulatorModel;
  readonly persons: Person[];
  /** A generator has claimed this population (people carry state: balances, sequence numbers). */
  claimed = false;

  constructor(options: PopulationOptions) {
    const { seed, people } = options;
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a whole number (got ${seed})`);
    if (!Number.isInteger(people) || people < 1 || people > MAX_PEOPLE) throw new RangeError(`people must be a whole number from 1 to ${MAX_PEOPLE} (got ${people})`);
    this.seed = seed;
    this.tag = (hashInts(seed, 0x7a6) % 36 ** 4).toString(36).padStart(4, '0');
    this.model = options.model ?? buildModel(options.config ?? loadSimulatorConfig());
    this.persons = new Array<Person>(people);
    for (let i = 0; i < people; i++) this.persons[i] = this.createPerson(i);
    for (let i = 0; i + 1 < people; i += 2) this.maybeShareTablet(this.persons[i]!, this.persons[i + 1]!);
  }

  get size(): number {
    return this.persons.length;
  }

  /** The person with id `p<index>`, or undefined. */
  byId(id: string): Person | undefined {
    return /^p\d+$/.test(id) ? this.persons[Number(id.slice(1))] : undefined;
  }

  private createPerson(index: number): Person {
    const { model, seed } = this;
    const identity = model.config.identity;
    const rng = new Rng(hashInts(seed, index, 0x9e75));
    const persona = model.personas.draw(rng);
    const zone = model.zones.draw(rng);
    const customer = rng.chance(persona.customerShare);
    const person = new Person(index, `p${index}`, persona, zone, rng, customer, this.tag);
    const contact = identity.contact;
    if (customer) person.customerId = person.addSlot('customer_id', `${persona.business === 'bank' ? 'B' : 'R'}${this.tag.toUpperCase()}-${permute(index, 9, seed).toString().padStart(9, '0')}`);
    if (rng.chance(customer ? contact.customerEmail : contact.prospectEmail)) person.email = person.addSlot('email', emailAddress(rng, index, this.tag));
    if (rng.chance(customer ? contact.customerPhone : contact.prospectPhone)) person.phone = person.addSlot('phone', phoneNumber(zone.country, rng, index, seed));
    if (customer && persona.business === 'bank' && rng.chance(persona.cardShare)) person.cardToken = person.addSlot('card_token', `tok_${hexId(rng, 20)}`);
    const devices = model.devices.draw(rng);
    for (let d = 0; d < devices; d++) {
      const kind = DEVICE_KINDS[d % DEVICE_KINDS.length]!;
      const app = kind !== 'laptop' && rng.chance(identity.appShare);
      const deviceId = app ? person.addSlot('device_id', uuidFrom(rng).toUpperCase()) : null;
      const anonSeed = hashInts(seed, index, d, 0xa11);
      person.devices.push({ index: d, kind, shared: false, deviceId, anonSeed, anonGen: 0, anon: person.addSlot('anonymous_id', anonymousId(anonSeed, 0)) });
    }
    const b = persona.balance;
    if (persona.business === 'bank') {
      person.atRisk = rng.chance(b.atRiskShare);
      const start = person.atRisk ? b.atRiskStart : b.start;
      const income = person.atRisk ? b.atRiskIncomePerMonth : b.incomePerMonth;
      person.balance = rng.intBetween(start[0], start[1]);
      person.income = rng.intBetween(income[0], income[1]);
      person.nextPayday = model.epoch + rng.int(MONTH);
    }
    person.rates = new Float64Array(persona.habits.map((h) => (h.perMonth * (1 + h.spread * (2 * rng.next() - 1))) / MONTH));
    const marketing = model.config.consent.marketing;
    person.consent.email = person.email !== null && rng.chance(marketing.email ?? 0);
    person.consent.sms = person.phone !== null && rng.chance(marketing.sms ?? 0);
    person.consent.push = person.devices.some((d) => d.deviceId !== null) && rng.chance(marketing.push ?? 0);
    return person;
  }

  /** Two neighbours who are customers of one business may be a household sharing a tablet. */
  private maybeShareTablet(a: Person, b: Person): void {
    const household = a.index >>> 1;
    const rng = new Rng(hashInts(this.seed, household, 0x7ab1e7));
    if (!rng.chance(this.model.config.identity.sharedTabletShare)) return;
    if (!a.customer || !b.customer || a.business !== b.business) return;
    const deviceId = uuidFrom(rng).toUpperCase();
    const anonSeed = hashInts(this.seed, household, 0x5a7ed);
    for (const person of [a, b]) {
      person.household = household;
      person.devices.push({
        index: person.devices.length,
        kind: 'tablet',
        shared: true,
        deviceId: person.addSlot('device_id', deviceId, true),
        anonSeed,
        anonGen: 0,
        anon: person.addSlot('anonymous_id', anonymousId(anonSeed, 0), true),
      });
    }
  }
}

export function createPopulation(options: PopulationOptions): Population {
  return new Population(options);
}

const DEVICE_KINDS: readonly DeviceKind[] = ['phone', 'laptop', 'tablet', 'phone', 'laptop'];

/** The anonymous id (cookie) of a device in a generation: a UUID that only depends on (device seed, generation). */
export function anonymousId(anonSeed: number, generation: number): string {
  return uuidFrom(new Rng(hashInts(anonSeed, generation)));
}

/** Clears the device's cookie: from now on it sends a new anonymous id. */
export function resetCookie(person: Person, device: Device): void {
  device.anonGen++;
  device.anon = person.addSlot('anonymous_id', anonymousId(device.anonSeed, device.anonGen));
}

export function findRoot(slot: IdentitySlot): IdentitySlot {
  let root = slot;
  while (root.parent !== root) root = root.parent;
  while (slot.parent !== root) {
    const next = slot.parent;
    slot.parent = root;
    slot = next;
  }
  return root;
}

export function unionSlots(a: IdentitySlot, b: IdentitySlot): void {
  const ra = findRoot(a);
  const rb = findRoot(b);
  if (ra !== rb) rb.parent = ra;
}

/** A bijection of [0, 10^digits) keyed by the seed: unique numbers that do not look sequential. */
function permute(index: number, digits: number, seed: number): number {
  const modulus = 10 ** digits;
  // 7654321 and 987654323 are coprime with 10^n (odd, not divisible by 5).
  const a = digits <= 7 ? 7_654_321 : 987_654_323;
  const offset = hashInts(seed, digits) % modulus;
  return Number((BigInt(index) * BigInt(a) + BigInt(offset)) % BigInt(modulus));
}

const FIRST = ['aoife', 'sean', 'niamh', 'conor', 'ciara', 'darragh', 'siobhan', 'eoin', 'orla', 'cian', 'emma', 'jack', 'sophie', 'james', 'grace', 'noah', 'olivia', 'liam', 'mia', 'oscar', 'chloe', 'harry', 'ava', 'ethan', 'isla', 'daniel', 'lucy', 'adam', 'ella', 'ryan'];
const LAST = ['murphy', 'kelly', 'obrien', 'byrne', 'ryan', 'walsh', 'smith', 'doyle', 'mccarthy', 'gallagher', 'jones', 'taylor', 'brown', 'wilson', 'evans', 'johnson', 'williams', 'miller', 'davis', 'garcia', 'nolan', 'quinn', 'kennedy', 'lynch', 'farrell'];
const DOMAINS = ['example.com', 'example.ie', 'example.net', 'example.org', 'mail.example.com'];

/** Unique by construction (the index is in it), lower case: the normalised form. */
function emailAddress(rng: Rng, index: number, tag: string): string {
  return `${rng.pick(FIRST)}.${rng.pick(LAST)}.${tag}${index.toString(36)}@${rng.pick(DOMAINS)}`;
}

const IE_PREFIXES = ['83', '85', '86', '87', '89'];
const US_AREAS = ['212', '415', '617', '646', '718', '917'];

/** E.164, unique per person within a country plan (up to 10^7 people). */
function phoneNumber(country: PhoneCountry, rng: Rng, index: number, seed: number): string {
  const subscriber = permute(index, 7, seed);
  switch (country) {
    case 'IE':
      return `+353${rng.pick(IE_PREFIXES)}${subscriber.toString().padStart(7, '0')}`;
    case 'GB':
      return `+4477${rng.intBetween(0, 9)}${subscriber.toString().padStart(7, '0')}`;
    case 'US':
      return `+1${rng.pick(US_AREAS)}${2_000_000 + (subscriber % 8_000_000)}`;
  }
}

/**
 * How a channel writes a phone number: E.164, spaced international, or
 * (Irish numbers, `nationalShare` of the time) national "087 123 4567",
 * which the engine reads with its default region IE.
 */
export function rawPhone(e164: string, rng: Rng, nationalShare: number): string {
  if (e164.startsWith('+353')) {
    const n = e164.slice(4); // 871234567
    if (rng.chance(nationalShare)) return rng.chance(0.5) ? `0${n.slice(0, 2)} ${n.slice(2, 5)} ${n.slice(5)}` : `0${n}`;
    return rng.chance(0.5) ? e164 : `+353 ${n.slice(0, 2)} ${n.slice(2, 5)} ${n.slice(5)}`;
  }
  if (rng.chance(0.5)) return e164;
  if (e164.startsWith('+1')) return `+1 ${e164.slice(2, 5)} ${e164.slice(5, 8)} ${e164.slice(8)}`;
  return `+44 ${e164.slice(3, 7)} ${e164.slice(7)}`;
}

/** An e-mail as a form or a CRM sends it: `variantShare` of the time in another case or with spaces around. */
export function rawEmail(email: string, rng: Rng, variantShare: number): string {
  if (!rng.chance(variantShare)) return email;
  switch (rng.int(4)) {
    case 0:
      return `  ${email}`;
    case 1:
      return `${email} `;
    case 2:
      return email.replace(/(^|[.@])([a-z])/g, (_m, sep: string, c: string) => sep + c.toUpperCase());
    default:
      return email.toUpperCase();
  }
}
