import type { TrafficSource } from '../processors/model/touchpoint';
import {
  DEFAULT_RHYTHM,
  parseDuration,
  type Business,
  type CategorySpec,
  type HabitKind,
  type HabitSpec,
  type PersonaSpec,
  type PhoneCountry,
  type SimulatorConfig,
  type TriggerOutcomeSpec,
} from './config';
import { Weighted } from './random';

/**
 * The personas file resolved into what generation reads per event:
 * weighted tables, precomputed page and source objects (shared by every
 * event that uses them, never mutated), rates per millisecond, minor units.
 */

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
/** "perMonth" means per 30 days. */
export const MONTH = 30 * DAY;

export interface ZoneModel {
  zone: string;
  /** UTC offset at the epoch (daylight saving changes are ignored). */
  offsetMs: number;
  country: PhoneCountry;
}

export interface RhythmModel {
  name: string;
  /** Acceptance probability per local hour: weight / max weight. */
  accept: Float64Array;
  /** mean weight / max weight: the share of candidate times accepted. */
  meanAccept: number;
}

export interface PageModel {
  path: string;
  product: string | null;
  attributes: readonly { key: string; value: string; share: number }[];
}

export interface CategoryModel {
  id: string;
  index: number;
  business: Business;
  pages: Weighted<PageModel>;
  /** Product pages only (a visit that ends in the cart views one). */
  productPages: Weighted<PageModel> | null;
  searches: readonly string[];
  /** Shared page objects of the category's fixed pages (search, cart, checkout). */
  searchPath: string;
}

export interface HabitModel {
  /** Position in the persona's habit list (or -1 for the consent schedule). */
  index: number;
  kind: HabitKind | 'consent';
  channel: string;
  perMonth: number;
  spread: number;
  rhythm: RhythmModel;
  /** Rate change per month (<= 0). */
  trendPerMonth: number;
  pagesMean: number;
  pagesMax: number;
  dwellMeanMs: number;
  categories: Weighted<CategoryModel> | null;
  loginShare: number;
  searchShare: number;
  cartShare: number;
  purchaseShare: number;
  billPaymentShare: number;
  transferShare: number;
  browseShare: number;
  /** Minor units. */
  amountMin: number;
  amountMax: number;
  balanceViewShare: number;
  verifiedShare: number;
  reasons: Weighted<string> | null;
  clickShare: number;
}

export interface BalanceModel {
  start: [number, number];
  incomePerMonth: [number, number];
  bill: [number, number];
  atRiskShare: number;
  atRiskStart: [number, number];
  atRiskIncomePerMonth: [number, number];
}

export interface PersonaModel {
  id: string;
  description: string;
  business: Business;
  customerShare: number;
  cardShare: number;
  balance: BalanceModel;
  habits: HabitModel[];
}

export interface TriggerModel {
  baseRate: number;
  uplift: number;
  conversionEvent: string;
  conversionChannel: string;
  delayMinMs: number;
  delayMaxMs: number;
}

export interface SourceModel {
  medium: string;
  /** [referrer index][category index] -> the shared TrafficSource. */
  objects: TrafficSource[][];
}

export interface SimulatorModel {
  config: SimulatorConfig;
  epoch: number;
  currency: string;
  zones: Weighted<ZoneModel>;
  devices: Weighted<number>;
  personas: Weighted<PersonaModel>;
  categories: Map<string, CategoryModel>;
  sources: Weighted<SourceModel>;
  emailSource: SourceModel | null;
  consentHabit: HabitModel;
  consentInitialWithinMs: number;
  consentChangeRatePerMs: number;
  triggers: Map<string, TriggerModel>;
  defaultTrigger: TriggerModel;
}

const DEFAULT_BALANCE: BalanceModel = {
  start: [100_000, 300_000],
  incomePerMonth: [250_000, 350_000],
  bill: [4_000, 20_000],
  atRiskShare: 0,
  atRiskStart: [0, 0],
  atRiskIncomePerMonth: [0, 0],
};

const minor = (major: number): number => Math.round(major * 100);
const minorRange = (r: [number, number]): [number, number] => [minor(r[0]), minor(r[1])];

export function buildModel(config: SimulatorConfig): SimulatorModel {
  const epoch = Date.parse(config.simulation.epoch);
  const rhythms = new Map(Object.entries(config.rhythms).map(([name, hours]) => [name, rhythm(name, hours)]));
  const categories = new Map<string, CategoryModel>();
  Object.entries(config.categories).forEach(([id, spec], index) => categories.set(id, category(id, index, spec)));
  const categoryList = [...categories.values()];
  const sourceModels = config.sources.map((s) => source(s, categoryList));
  const personas = Object.entries(config.personas).map(([id, spec]) => persona(id, spec, rhythms, categories));
  const flat: RhythmModel = { name: 'flat', accept: new Float64Array(24).fill(1), meanAccept: 1 };
  return {
    config,
    epoch,
    currency: config.simulation.currency,
    zones: new Weighted(
      config.timeZones.map((tz) => ({ zone: tz.zone, offsetMs: utcOffset(tz.zone, epoch), country: tz.country })),
      config.timeZones.map((tz) => tz.weight),
    ),
    devices: new Weighted(
      config.identity.devices.map((_, i) => i + 1),
      config.identity.devices,
    ),
    personas: new Weighted(
      personas,
      Object.values(config.personas).map((p) => p.weight),
    ),
    categories,
    sources: new Weighted(
      sourceModels,
      config.sources.map((s) => s.weight),
    ),
    emailSource: sourceModels.find((s) => s.medium === 'email') ?? null,
    consentHabit: { ...habit({ kind: 'branch', perMonth: 0 }, -1, flat, categories), kind: 'consent', channel: 'consent' },
    consentInitialWithinMs: parseDuration(config.consent.initialWithin),
    consentChangeRatePerMs: config.consent.changesPerYear / (365 * DAY),
    triggers: new Map(Object.entries(config.outcomes.triggers).map(([id, spec]) => [id, trigger(spec)])),
    defaultTrigger: trigger(config.outcomes.default),
  };
}

function rhythm(name: string, hours: number[]): RhythmModel {
  const max = Math.max(...hours);
  const accept = new Float64Array(hours.map((w) => w / max));
  return { name, accept, meanAccept: accept.reduce((a, b) => a + b, 0) / 24 };
}

function category(id: string, index: number, spec: CategorySpec): CategoryModel {
  const pages: PageModel[] = [];
  const weights: number[] = [];
  const products: PageModel[] = [];
  const productWeights: number[] = [];
  for (const page of spec.pages) {
    const attributes = page.attributes ?? [];
    if (page.path.includes('{product}')) {
      for (const product of spec.products) {
        const model = { path: page.path.replace('{product}', product), product, attributes };
        pages.push(model);
        weights.push(page.weight / spec.products.length);
        products.push(model);
        productWeights.push(page.weight / spec.products.length);
      }
    } else {
      pages.push({ path: page.path, product: null, attributes });
      weights.push(page.weight);
    }
  }
  return {
    id,
    index,
    business: spec.business,
    pages: new Weighted(pages, weights),
    productPages: products.length > 0 && productWeights.some((w) => w > 0) ? new Weighted(products, productWeights) : null,
    searches: spec.searches,
    searchPath: '/search',
  };
}

function source(spec: SimulatorConfig['sources'][number], categories: CategoryModel[]): SourceModel {
  const referrers = spec.referrers ?? [null];
  return {
    medium: spec.medium,
    objects: referrers.map((referrer) =>
      categories.map((c) =>
        Object.freeze({
          medium: spec.medium,
          referrer,
          campaign: spec.campaigns ? `${c.id}-${spec.medium}` : null,
          source: spec.source ?? (referrer ? referrer.replace(/^www\./, '').replace(/\..*$/, '') : null),
        }),
      ),
    ),
  };
}

function persona(id: string, spec: PersonaSpec, rhythms: Map<string, RhythmModel>, categories: Map<string, CategoryModel>): PersonaModel {
  const b = spec.balance;
  return {
    id,
    description: spec.description,
    business: spec.business,
    customerShare: spec.customerShare,
    cardShare: spec.cardShare ?? (spec.business === 'bank' ? 0.9 : 0),
    balance: b
      ? {
          start: minorRange(b.start),
          incomePerMonth: minorRange(b.incomePerMonth),
          bill: minorRange(b.bill),
          atRiskShare: b.atRisk?.share ?? 0,
          atRiskStart: minorRange(b.atRisk?.start ?? [0, 0]),
          atRiskIncomePerMonth: minorRange(b.atRisk?.incomePerMonth ?? [0, 0]),
        }
      : DEFAULT_BALANCE,
    habits: spec.habits.map((h, i) => habit(h, i, rhythms.get(h.rhythm ?? DEFAULT_RHYTHM[h.kind])!, categories)),
  };
}

/** Defaults of every habit field (simulator/README.md lists them). */
function habit(spec: HabitSpec, index: number, rhythmModel: RhythmModel, categories: Map<string, CategoryModel>): HabitModel {
  const defaultAmount: Record<string, [number, number]> = { atm: [20, 200], card: [4, 120] };
  const amount = spec.amount ?? defaultAmount[spec.kind] ?? [0, 0];
  const cats = spec.categories ? Object.entries(spec.categories) : [];
  return {
    index,
    kind: spec.kind,
    channel: spec.channel ?? KIND_CHANNEL[spec.kind],
    perMonth: spec.perMonth,
    spread: spec.spread ?? 0.5,
    rhythm: rhythmModel,
    trendPerMonth: spec.trendPerMonth ?? 0,
    pagesMean: spec.pages?.mean ?? (spec.kind === 'browse' ? 4 : 2),
    pagesMax: spec.pages?.max ?? (spec.kind === 'browse' ? 15 : 6),
    dwellMeanMs: (spec.dwellSeconds ?? 40) * 1000,
    categories:
      cats.length > 0
        ? new Weighted(
            cats.map(([c]) => categories.get(c)!),
            cats.map(([, w]) => w),
          )
        : null,
    loginShare: spec.loginShare ?? (spec.channel === 'app' ? 0.8 : 0.2),
    searchShare: spec.searchShare ?? 0.05,
    cartShare: spec.cartShare ?? 0,
    purchaseShare: spec.purchaseShare ?? 0.5,
    billPaymentShare: spec.billPaymentShare ?? 0.2,
    transferShare: spec.transferShare ?? 0.1,
    browseShare: spec.browseShare ?? 0,
    amountMin: minor(amount[0]),
    amountMax: minor(amount[1]),
    balanceViewShare: spec.balanceViewShare ?? 0.2,
    verifiedShare: spec.verifiedShare ?? 0.8,
    reasons: spec.reasons ? Weighted.of(spec.reasons) : null,
    clickShare: spec.clickShare ?? 0.1,
  };
}

const KIND_CHANNEL: Record<HabitKind, string> = {
  browse: 'web',
  banking: 'online_banking',
  atm: 'atm',
  card: 'transaction',
  call: 'call_centre',
  email: 'email',
  branch: 'branch',
};

function trigger(spec: TriggerOutcomeSpec): TriggerModel {
  return {
    baseRate: spec.baseRate,
    uplift: spec.uplift,
    conversionEvent: spec.conversionEvent,
    conversionChannel: spec.conversionChannel ?? 'web',
    delayMinMs: parseDuration(spec.conversionDelay[0]),
    delayMaxMs: parseDuration(spec.conversionDelay[1]),
  };
}

/** The zone's UTC offset at `at`, in ms (Intl, no tz database of our own). */
export function utcOffset(zone: string, at: number): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(at));
  const get = (type: string): number => Number(parts.find((p) => p.type === type)!.value);
  const local = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return Math.round((local - Math.floor(at / 1000) * 1000) / MINUTE) * MINUTE;
}
