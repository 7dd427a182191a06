import type { ConsentChange, Identifier, Money, PageContext, Touchpoint, TrafficSource } from '../processors/model/touchpoint';
import { DAY, HOUR, MONTH, type CategoryModel, type HabitModel, type PageModel, type SimulatorModel } from './model';
import { rawEmail, rawPhone, resetCookie, type Device, type IdentitySlot, type Person } from './population';
import { hashString, type Rng } from './random';

/**
 * One visit of one person (a web session, an ATM withdrawal, a call),
 * built at once when its habit fires and then emitted event by event in
 * event-time order, interleaved with everybody else's. Objects that many
 * events share (identifier lists of a session phase, traffic sources,
 * empty attributes) are created once and frozen: treat touchpoints as
 * read-only.
 */

/**
 * The identifiers of one phase of a session (anonymous, logging in, logged
 * in) and what they mean for the ground truth: the slots they show and
 * whether they meet on a trusted authenticated event (`link`). `route` is
 * the code of the strongest identifier, which goes into the event id so
 * the outcome responder can answer on the same identifier.
 */
export class IdentityContext {
  marked = false;
  constructor(
    readonly ids: readonly Identifier[],
    readonly slots: readonly IdentitySlot[],
    readonly link: boolean,
    readonly authenticated: boolean,
    readonly route: string,
  ) {}
}

export class Session {
  readonly events: Touchpoint[] = [];
  readonly contexts: IdentityContext[] = [];
  next = 0;
}

const EMPTY: Record<string, string> = Object.freeze({}) as Record<string, string>;
const MALFORMED = new IdentityContext(Object.freeze([]), [], false, false, 'x');
export const MALFORMED_KINDS = ['no_identifiers', 'blocked_identifiers', 'undecodable'] as const;
export type MalformedKind = (typeof MALFORMED_KINDS)[number];
export const MALFORMED_ATTRIBUTE = 'simulator_malformed';

const PAYEES = ['electricity', 'gas', 'phone', 'broadband', 'rent', 'insurance', 'tv_licence', 'water'];
const MERCHANTS = ['grocery', 'fuel', 'restaurant', 'online', 'pharmacy', 'travel', 'clothing', 'cafe'];
const CONSENT_CHANNELS = ['email', 'sms', 'push'] as const;
const JUNK_TYPES = ['anonymous_id', 'customer_id', 'email', 'phone', 'device_id'];

function frozenAttributes(key: string, values: readonly string[]): Map<string, Record<string, string>> {
  return new Map(values.map((v) => [v, Object.freeze({ [key]: v })]));
}
const PAYEE_ATTRIBUTES = frozenAttributes('payee', PAYEES);
const MERCHANT_ATTRIBUTES = frozenAttributes('merchant_category', MERCHANTS);

/** Route codes (the last part of an event id): c k e p, d<device>, a<device>-<generation>. */
export function deviceRoute(device: Device): string {
  return `d${device.index}`;
}
export function anonRoute(device: Device): string {
  return `a${device.index}-${device.anonGen}`;
}

export class SessionBuilder {
  private s: Session = new Session();
  private readonly identity: SimulatorModel['config']['identity'];
  private readonly callAttributes = new Map<string, Record<string, string>>();
  private readonly consentObjects = new Map<string, ConsentChange>();

  constructor(private readonly model: SimulatorModel) {
    this.identity = model.config.identity;
  }

  /** Builds the visit a habit starts at `t`; null when the person cannot make it (no card for an ATM, ...). */
  build(person: Person, habit: HabitModel, t: number): Session | null {
    this.s = new Session();
    switch (habit.kind) {
      case 'browse':
        this.browse(person, habit, t, null, null);
        break;
      case 'banking':
        this.banking(person, habit, t);
        break;
      case 'atm':
        this.atm(person, habit, t);
        break;
      case 'card':
        this.card(person, habit, t);
        break;
      case 'call':
        this.call(person, habit, t);
        break;
      case 'email':
        this.email(person, habit, t);
        break;
      case 'branch':
        this.branch(person, t);
        break;
      case 'consent':
        this.consent(person, t, person.rng);
        break;
    }
    if (this.s.events.length === 0) return null;
    person.sessions++;
    return this.s;
  }

  /** The consents a person holds when the period starts, reported at `t`. */
  initialConsent(person: Person, t: number): Session | null {
    this.s = new Session();
    this.consent(person, t, null);
    return this.s.events.length === 0 ? null : this.s;
  }

  // ------------------------------------------------------------ visits ---

  private browse(person: Person, habit: HabitModel, t: number, fromEmail: Device | null, emailSource: TrafficSource | null): number {
    const rng = person.rng;
    let channel = fromEmail ? 'web' : habit.channel;
    const device = fromEmail ?? pickDevice(person, channel === 'app');
    if (channel === 'app' && device.deviceId === null) channel = 'web';
    if (channel === 'web' && !device.shared && !fromEmail && rng.chance(this.identity.cookieResetPerSession)) resetCookie(person, device);
    const category = habit.categories!.draw(rng);
    const source = channel === 'web' ? (emailSource ?? this.pickSource(rng, category)) : null;
    const sessionId = this.sessionId(person);
    const pages = rng.countAtLeastOne(habit.pagesMean, habit.pagesMax);
    const loginAt = person.customerId !== null && rng.chance(habit.loginShare) ? rng.int(pages) : -1;
    const cartAt = category.productPages !== null && rng.chance(habit.cartShare) ? rng.int(pages) : -1;
    const zone = person.timeZone;
    const anon = channel === 'app' ? this.deviceContext(person, device) : this.anonContext(person, device);
    let ctx = anon;
    let first: TrafficSource | null = source;
    let cartPage: PageModel | null = null;
    for (let p = 0; p < pages; p++) {
      if (p === loginAt) {
        this.emit(person, t, this.loginContext(person, device, channel), channel, 'login', sessionId, page('/login', null, null, p + 1, null, rng.intBetween(5, 30) * 1000), null, null, null, first, null, zone, EMPTY);
        first = null;
        t += rng.intBetween(5, 30) * 1000;
        ctx = this.loggedInContext(person, device, channel);
      }
      if (rng.chance(habit.searchShare)) {
        const dwell = rng.intBetween(4, 25) * 1000;
        this.emit(person, t, ctx, channel, 'search', sessionId, page(category.searchPath, category.id, null, p + 1, null, dwell), rng.pick(category.searches), null, null, first, null, zone, EMPTY);
        first = null;
        t += dwell;
      }
      const viewed = p === cartAt ? category.productPages!.draw(rng) : category.pages.draw(rng);
      const dwell = dwellMs(rng, habit.dwellMeanMs);
      this.emit(person, t, ctx, channel, 'page_view', sessionId, page(viewed.path, category.id, viewed.product, p + 1, rng.intBetween(10, 100), dwell), null, null, null, first, null, zone, pageAttributes(rng, viewed));
      first = null;
      t += dwell;
      if (p === cartAt) {
        cartPage = viewed;
        this.emit(person, t, ctx, channel, 'add_to_cart', sessionId, page(viewed.path, category.id, viewed.product, p + 1, null, null), null, money(priceOf(viewed.product!), this.model.currency), null, null, null, zone, EMPTY);
        t += rng.intBetween(3, 20) * 1000;
      }
    }
    if (cartPage !== null && rng.chance(habit.purchaseShare)) {
      this.emit(person, t, ctx, channel, 'page_view', sessionId, page('/checkout', category.id, null, pages + 1, 100, 30_000), null, null, null, null, null, zone, EMPTY);
      t += rng.intBetween(30, 120) * 1000;
      this.emit(person, t, ctx, channel, 'purchase', sessionId, page('/checkout/confirmation', category.id, cartPage.product, pages + 2, null, null), null, money(priceOf(cartPage.product!), this.model.currency), null, null, null, zone, EMPTY);
    }
    if (loginAt >= 0 && rng.chance(0.3)) this.emit(person, t + 2000, ctx, channel, 'logout', sessionId, null, null, null, null, null, null, zone, EMPTY);
    return t;
  }

  private banking(person: Person, habit: HabitModel, t: number): void {
    if (person.customerId === null) return;
    const rng = person.rng;
    let channel = habit.channel;
    const device = pickDevice(person, channel === 'app');
    if (channel === 'app' && device.deviceId === null) channel = 'online_banking';
    const sessionId = this.sessionId(person);
    const zone = person.timeZone;
    this.emit(person, t, this.loginContext(person, device, channel), channel, 'login', sessionId, page('/login', null, null, 1, null, null), null, null, null, null, null, zone, EMPTY);
    const ctx = this.loggedInContext(person, device, channel);
    t += rng.intBetween(4, 20) * 1000;
    settle(person, t);
    let depth = 2;
    this.emit(person, t, ctx, channel, 'balance_view', sessionId, page('/accounts', null, null, depth++, null, null), null, null, money(person.balance, this.model.currency), null, null, zone, EMPTY);
    t += rng.intBetween(10, 60) * 1000;
    if (rng.chance(habit.billPaymentShare)) {
      const bills = rng.chance(0.3) ? 2 : 1;
      for (let b = 0; b < bills; b++) {
        const amount = rng.intBetween(person.persona.balance.bill[0], person.persona.balance.bill[1]);
        person.balance -= amount;
        this.emit(person, t, ctx, channel, 'bill_payment', sessionId, page('/payments/bills', null, null, depth++, null, null), null, money(-amount, this.model.currency), money(person.balance, this.model.currency), null, null, zone, PAYEE_ATTRIBUTES.get(rng.pick(PAYEES))!);
        t += rng.intBetween(20, 90) * 1000;
      }
    }
    if (rng.chance(habit.transferShare) && person.balance > 5_000) {
      const amount = Math.min(person.balance - 2_000, rng.intBetween(20, 500) * 100);
      person.balance -= amount;
      this.emit(person, t, ctx, channel, 'transfer', sessionId, page('/payments/transfer', null, null, depth++, null, null), null, money(-amount, this.model.currency), money(person.balance, this.model.currency), null, null, zone, EMPTY);
      t += rng.intBetween(20, 90) * 1000;
    }
    if (habit.categories !== null && rng.chance(habit.browseShare)) {
      const category = habit.categories.draw(rng);
      const pages = rng.countAtLeastOne(habit.pagesMean, habit.pagesMax);
      for (let p = 0; p < pages; p++) {
        const viewed = category.pages.draw(rng);
        const dwell = dwellMs(rng, habit.dwellMeanMs);
        this.emit(person, t, ctx, channel, 'page_view', sessionId, page(viewed.path, category.id, viewed.product, depth++, rng.intBetween(10, 100), dwell), null, null, null, null, null, zone, pageAttributes(rng, viewed));
        t += dwell;
      }
    }
    if (rng.chance(0.4)) this.emit(person, t, ctx, channel, 'logout', sessionId, null, null, null, null, null, null, zone, EMPTY);
  }

  private atm(person: Person, habit: HabitModel, t: number): void {
    if (person.customerId === null || person.cardToken === null) return;
    const rng = person.rng;
    const ctx = this.context(person, [person.cardToken, person.customerId], [person.cardToken.value, person.customerId.value], true, true, 'c');
    const sessionId = this.sessionId(person);
    settle(person, t);
    if (rng.chance(habit.balanceViewShare)) {
      this.emit(person, t, ctx, 'atm', 'balance_view', sessionId, null, null, null, money(person.balance, this.model.currency), null, null, null, EMPTY);
      t += rng.intBetween(10, 30) * 1000;
    }
    const wanted = rng.intBetween(Math.ceil(habit.amountMin / 1000), Math.floor(habit.amountMax / 1000)) * 1000;
    const amount = Math.min(wanted, Math.floor(Math.max(0, person.balance) / 1000) * 1000);
    if (amount >= 1000) {
      person.balance -= amount;
      this.emit(person, t, ctx, 'atm', 'withdrawal', sessionId, null, null, money(-amount, this.model.currency), money(person.balance, this.model.currency), null, null, null, EMPTY);
    } else if (this.s.events.length === 0) {
      this.emit(person, t, ctx, 'atm', 'balance_view', sessionId, null, null, null, money(person.balance, this.model.currency), null, null, null, EMPTY);
    }
  }

  private card(person: Person, habit: HabitModel, t: number): void {
    if (person.cardToken === null) return;
    const rng = person.rng;
    const ctx = this.context(person, [person.cardToken], [person.cardToken.value], false, false, 'k');
    const amount = rng.intBetween(habit.amountMin, habit.amountMax);
    person.balance -= amount;
    this.emit(person, t, ctx, 'transaction', 'purchase', null, null, null, money(-amount, this.model.currency), null, null, null, null, MERCHANT_ATTRIBUTES.get(rng.pick(MERCHANTS))!);
  }

  private call(person: Person, habit: HabitModel, t: number): void {
    if (person.phone === null) return;
    const rng = person.rng;
    const phone = rawPhone(person.phone.value, rng, this.identity.phoneNationalShare);
    const verified = person.customerId !== null && rng.chance(habit.verifiedShare);
    const ctx = verified
      ? this.context(person, [person.customerId!, person.phone], [person.customerId!.value, phone], true, true, 'c')
      : this.context(person, [person.phone], [phone], false, false, 'p');
    const reason = habit.reasons ? habit.reasons.draw(rng) : 'general';
    this.emit(person, t, ctx, 'call_centre', 'call', this.sessionId(person), null, null, null, null, null, null, null, this.callAttributesFor(reason));
  }

  private email(person: Person, habit: HabitModel, t: number): void {
    if (person.email === null) return;
    const rng = person.rng;
    const email = rawEmail(person.email.value, rng, this.identity.emailVariantShare);
    const open = this.context(person, [person.email], [email], false, false, 'e');
    this.emit(person, t, open, 'email', 'email_open', null, null, null, null, null, null, null, null, EMPTY);
    if (!rng.chance(habit.clickShare) || habit.categories === null) return;
    t += rng.intBetween(5, 600) * 1000;
    const device = pickDevice(person, false);
    const click = this.context(person, [person.email, device.anon], [email, device.anon.value], false, false, 'e');
    this.emit(person, t, click, 'email', 'email_click', null, null, null, null, null, null, null, null, EMPTY);
    const category = habit.categories.draw(rng);
    const source = this.model.emailSource?.objects[0]![category.index] ?? null;
    this.browse(person, habit, t + rng.intBetween(1, 5) * 1000, device, source);
  }

  private branch(person: Person, t: number): void {
    if (person.customerId === null) return;
    const ctx = this.context(person, [person.customerId], [person.customerId.value], false, true, 'c');
    this.emit(person, t, ctx, 'branch', 'branch_visit', this.sessionId(person), null, null, null, null, null, null, null, EMPTY);
  }

  /**
   * The person's consents: all held ones when `rng` is null (the start of
   * the period), else one change - a held consent withdrawn or a
   * withdrawn one granted again.
   */
  private consent(person: Person, t: number, rng: Rng | null): void {
    const reach = consentReach(person);
    if (reach === 0) return;
    let ctx: IdentityContext;
    let channel: string;
    if (person.customerId !== null) {
      ctx = this.context(person, [person.customerId], [person.customerId.value], false, true, 'c');
      channel = person.business === 'bank' ? 'online_banking' : 'web';
    } else if (person.email !== null) {
      ctx = this.context(person, [person.email], [person.email.value], false, false, 'e');
      channel = 'email';
    } else if (person.devices.some((d) => d.deviceId !== null)) {
      ctx = this.deviceContext(person, pickDevice(person, true));
      channel = 'app';
    } else {
      // a text-message keyword ("JOIN") from the person's phone
      ctx = this.context(person, [person.phone!], [person.phone!.value], false, false, 'p');
      channel = 'sms';
    }
    if (rng === null) {
      for (const c of CONSENT_CHANNELS) {
        if (!(reach & CONSENT_BIT[c]) || !person.consent[c]) continue;
        this.emit(person, t, ctx, channel, 'consent_updated', null, null, null, null, null, null, this.consentChange(c, true), person.timeZone, EMPTY);
        t += 1000;
      }
      return;
    }
    let pick = rng.int(popcount(reach));
    for (const c of CONSENT_CHANNELS) {
      if (!(reach & CONSENT_BIT[c]) || pick-- > 0) continue;
      person.consent[c] = !person.consent[c];
      this.emit(person, t, ctx, channel, 'consent_updated', null, null, null, null, null, null, this.consentChange(c, person.consent[c]), person.timeZone, EMPTY);
      return;
    }
  }

  // ------------------------------------------------------- identifiers ---

  private anonContext(person: Person, device: Device): IdentityContext {
    return this.context(person, [device.anon], [device.anon.value], false, false, anonRoute(device));
  }

  private deviceContext(person: Person, device: Device): IdentityContext {
    return this.context(person, [device.deviceId!], [device.deviceId!.value], false, false, deviceRoute(device));
  }

  /** A login: the device's identifier meets the customer id (and sometimes the e-mail). */
  private loginContext(person: Person, device: Device, channel: string): IdentityContext {
    const rng = person.rng;
    const deviceSlot = channel === 'app' ? device.deviceId! : device.anon;
    const customer = person.customerId!;
    if (person.email !== null && rng.chance(this.identity.emailOnLoginShare)) {
      const email = rawEmail(person.email.value, rng, this.identity.emailVariantShare);
      return this.context(person, [deviceSlot, customer, person.email], [deviceSlot.value, customer.value, email], true, true, 'c');
    }
    return this.context(person, [deviceSlot, customer], [deviceSlot.value, customer.value], true, true, 'c');
  }

  private loggedInContext(person: Person, device: Device, channel: string): IdentityContext {
    const deviceSlot = channel === 'app' ? device.deviceId! : device.anon;
    const customer = person.customerId!;
    return this.context(person, [customer, deviceSlot], [customer.value, deviceSlot.value], false, true, 'c');
  }

  /** Identifiers as sent (`values`, raw spellings), plus now and then one junk value a channel bug adds. */
  private context(person: Person, slots: IdentitySlot[], values: string[], link: boolean, authenticated: boolean, route: string): IdentityContext {
    const ids: Identifier[] = new Array(slots.length);
    for (let i = 0; i < slots.length; i++) ids[i] = { type: slots[i]!.type, value: values[i]! };
    if (this.identity.junkShare > 0 && person.rng.chance(this.identity.junkShare)) {
      ids.push({ type: person.rng.pick(JUNK_TYPES), value: person.rng.pick(this.identity.junkValues) });
    }
    return new IdentityContext(Object.freeze(ids), slots, link, authenticated, route);
  }

  // ------------------------------------------------------------ events ---

  private emit(
    person: Person,
    occurredAt: number,
    ctx: IdentityContext,
    channel: string,
    eventType: string,
    sessionId: string | null,
    pageContext: PageContext | null,
    searchTerms: string | null,
    amount: Money | null,
    balance: Money | null,
    source: TrafficSource | null,
    consent: ConsentChange | null,
    timeZone: string | null,
    attributes: Record<string, string>,
  ): void {
    const eventId = person.eventPrefix + person.seq++ + '.' + ctx.route;
    let identifiers = ctx.ids;
    let context = ctx;
    if (this.identity.malformedShare > 0 && person.rng.chance(this.identity.malformedShare)) {
      const kind = MALFORMED_KINDS[person.rng.int(MALFORMED_KINDS.length)]!;
      context = MALFORMED;
      if (kind === 'no_identifiers') identifiers = MALFORMED.ids;
      else if (kind === 'blocked_identifiers') identifiers = [{ type: 'anonymous_id', value: 'null' }];
      attributes = { [MALFORMED_ATTRIBUTE]: kind };
    }
    this.s.events.push({
      eventId,
      occurredAt,
      receivedAt: null,
      channel,
      eventType,
      identifiers: identifiers as Identifier[],
      authenticated: ctx.authenticated,
      sessionId,
      page: pageContext,
      searchTerms,
      amount,
      balance,
      source,
      consent,
      outcome: null,
      timeZone,
      attributes,
    });
    this.s.contexts.push(context);
  }

  private sessionId(person: Person): string {
    return `${person.eventPrefix}s${person.sessions}`;
  }

  private pickSource(rng: Rng, category: CategoryModel): TrafficSource {
    const source = this.model.sources.draw(rng);
    const byReferrer = source.objects.length === 1 ? source.objects[0]! : source.objects[rng.int(source.objects.length)]!;
    return byReferrer[category.index]!;
  }

  private callAttributesFor(reason: string): Record<string, string> {
    let attributes = this.callAttributes.get(reason);
    if (!attributes) {
      const fresh: Record<string, string> = reason === 'complaint' ? { call_reason: reason, complaint: 'true' } : { call_reason: reason };
      attributes = Object.freeze(fresh);
      this.callAttributes.set(reason, attributes);
    }
    return attributes;
  }

  private consentChange(channel: string, granted: boolean): ConsentChange {
    const key = `${channel}:${granted}`;
    let change = this.consentObjects.get(key);
    if (!change) {
      change = Object.freeze({ channel, purpose: 'marketing', granted });
      this.consentObjects.set(key, change);
    }
    return change;
  }
}

const CONSENT_BIT = { email: 1, sms: 2, push: 4 } as const;

/** The consent channels a person can be reached on (bit set). */
export function consentReach(person: Person): number {
  let bits = 0;
  if (person.email !== null) bits |= CONSENT_BIT.email;
  if (person.phone !== null) bits |= CONSENT_BIT.sms;
  for (const d of person.devices) if (d.deviceId !== null) bits |= CONSENT_BIT.push;
  return bits;
}

function popcount(bits: number): number {
  let n = 0;
  for (; bits; bits &= bits - 1) n++;
  return n;
}

/** A device for a visit: any, or one with the app; without an app device, any. */
function pickDevice(person: Person, app: boolean): Device {
  const devices = person.devices;
  if (app) {
    let n = 0;
    for (const d of devices) if (d.deviceId !== null) n++;
    if (n > 0) {
      let k = person.rng.int(n);
      for (const d of devices) if (d.deviceId !== null && k-- === 0) return d;
    }
  }
  return devices[person.rng.int(devices.length)]!;
}

/** Pays the monthly income of every payday up to `t` into the balance. */
export function settle(person: Person, t: number): void {
  while (person.nextPayday <= t) {
    person.balance += person.income;
    person.nextPayday += MONTH;
  }
}

function page(path: string, category: string | null, product: string | null, depth: number | null, scrollPercent: number | null, dwell: number | null): PageContext {
  return { path, category, product, depth, scrollPercent, dwellMs: dwell };
}

function money(minorUnits: number, currency: string): Money {
  return { minorUnits, currency };
}

/** Time on a page: exponential around the mean, 2 s to 20 min. */
function dwellMs(rng: Rng, mean: number): number {
  const d = Math.round(rng.exponential(mean));
  return d < 2000 ? 2000 : d > 20 * 60_000 ? 20 * 60_000 : d;
}

function pageAttributes(rng: Rng, viewed: PageModel): Record<string, string> {
  if (viewed.attributes.length === 0) return EMPTY;
  let out: Record<string, string> | null = null;
  for (const a of viewed.attributes) {
    if (rng.chance(a.share)) (out ??= {})[a.key] = a.value;
  }
  return out ?? EMPTY;
}

/** A product's price in minor units: 15.00 to 400.00, fixed per product name. */
export function priceOf(product: string): number {
  return 1_500 + (hashString(product) % 385) * 100 + 99;
}

/** The local hour 0..23 of `t` at a UTC offset. */
export function localHour(t: number, offsetMs: number): number {
  const local = (((t + offsetMs) % DAY) + DAY) % DAY;
  return Math.floor(local / HOUR);
}
