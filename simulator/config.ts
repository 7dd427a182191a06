import { durationSchema, parseDuration } from '../config/duration';
import { join } from 'node:path';
import type { Schema } from 'ajv';
import { loadConfigFile, parseConfigFile, type ConfigFile, type Fail } from '../config/load';
import { nameSchema } from '../config/names';

/**
 * simulator/personas.yaml: the simulated population. The file documents
 * every field; simulator/README.md the model behind them. Loaded with the
 * project's config loader, so an error names the file, the path, the line
 * and the fix.
 */

export const DEFAULT_PERSONAS_FILE = join(__dirname, 'personas.yaml');

export type Business = 'bank' | 'retail';
export type Range = [number, number];

export const HABIT_KINDS = ['browse', 'banking', 'atm', 'card', 'call', 'email', 'branch'] as const;
export type HabitKind = (typeof HABIT_KINDS)[number];

export interface HabitSpec {
  kind: HabitKind;
  channel?: string;
  perMonth: number;
  spread?: number;
  rhythm?: string;
  trendPerMonth?: number;
  pages?: { mean: number; max: number };
  dwellSeconds?: number;
  categories?: Record<string, number>;
  loginShare?: number;
  searchShare?: number;
  cartShare?: number;
  purchaseShare?: number;
  billPaymentShare?: number;
  transferShare?: number;
  browseShare?: number;
  amount?: Range;
  balanceViewShare?: number;
  verifiedShare?: number;
  reasons?: Record<string, number>;
  clickShare?: number;
}

export interface BalanceSpec {
  start: Range;
  incomePerMonth: Range;
  bill: Range;
  atRisk?: { share: number; start: Range; incomePerMonth: Range };
}

export interface PersonaSpec {
  description: string;
  business: Business;
  weight: number;
  customerShare: number;
  cardShare?: number;
  balance?: BalanceSpec;
  habits: HabitSpec[];
}

export interface PageSpec {
  path: string;
  weight: number;
  attributes?: { key: string; value: string; share: number }[];
}

export interface CategorySpec {
  business: Business;
  products: string[];
  searches: string[];
  pages: PageSpec[];
}

export interface TriggerOutcomeSpec {
  baseRate: number;
  uplift: number;
  conversionEvent: string;
  conversionChannel?: string;
  conversionDelay: [string, string];
}

export interface OutcomesSpec {
  respondToDecisions: string[];
  deliveredShare: number;
  shownShare: number;
  clickShare: number;
  dismissShare: number;
  default: TriggerOutcomeSpec;
  triggers: Record<string, TriggerOutcomeSpec>;
}

export interface SimulatorConfig {
  simulation: { epoch: string; currency: string };
  timeZones: { zone: string; weight: number; country: PhoneCountry }[];
  rhythms: Record<string, number[]>;
  identity: {
    devices: number[];
    appShare: number;
    cookieResetPerSession: number;
    sharedTabletShare: number;
    contact: { customerEmail: number; customerPhone: number; prospectEmail: number; prospectPhone: number };
    emailOnLoginShare: number;
    emailVariantShare: number;
    phoneNationalShare: number;
    junkShare: number;
    junkValues: string[];
    malformedShare: number;
  };
  consent: { initialWithin: string; marketing: Record<string, number>; changesPerYear: number };
  sources: { medium: string; weight: number; referrers?: string[]; campaigns?: boolean; source?: string }[];
  categories: Record<string, CategorySpec>;
  personas: Record<string, PersonaSpec>;
  outcomes: OutcomesSpec;
}

export const PHONE_COUNTRIES = ['IE', 'GB', 'US'] as const;
export type PhoneCountry = (typeof PHONE_COUNTRIES)[number];

const share = { type: 'number', minimum: 0, maximum: 1 } as const;
const positive = { type: 'number', exclusiveMinimum: 0 } as const;
const nonNegative = { type: 'number', minimum: 0 } as const;
const range = { type: 'array', items: nonNegative, minItems: 2, maxItems: 2 } as const;
const weights = { type: 'object', propertyNames: nameSchema, additionalProperties: nonNegative, minProperties: 1 } as const;

const triggerOutcome = {
  type: 'object',
  additionalProperties: false,
  required: ['baseRate', 'uplift', 'conversionEvent', 'conversionDelay'],
  properties: {
    baseRate: share,
    uplift: { type: 'number', minimum: -1, maximum: 1 },
    conversionEvent: nameSchema,
    conversionChannel: nameSchema,
    conversionDelay: { type: 'array', items: durationSchema, minItems: 2, maxItems: 2 },
  },
} as const;

const habit = {
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'perMonth'],
  properties: {
    kind: { enum: [...HABIT_KINDS] },
    channel: nameSchema,
    perMonth: nonNegative,
    spread: share,
    rhythm: nameSchema,
    trendPerMonth: { type: 'number', minimum: -1, maximum: 0 },
    pages: {
      type: 'object',
      additionalProperties: false,
      required: ['mean', 'max'],
      properties: { mean: { type: 'number', minimum: 1 }, max: { type: 'integer', minimum: 1 } },
    },
    dwellSeconds: positive,
    categories: weights,
    loginShare: share,
    searchShare: share,
    cartShare: share,
    purchaseShare: share,
    billPaymentShare: share,
    transferShare: share,
    browseShare: share,
    amount: range,
    balanceViewShare: share,
    verifiedShare: share,
    reasons: weights,
    clickShare: share,
  },
} as const;

export const SIMULATOR_CONFIG_SCHEMA: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['simulation', 'timeZones', 'rhythms', 'identity', 'consent', 'sources', 'categories', 'personas', 'outcomes'],
  properties: {
    simulation: {
      type: 'object',
      additionalProperties: false,
      required: ['epoch', 'currency'],
      properties: {
        epoch: { type: 'string', pattern: '^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?Z$' },
        currency: { type: 'string', pattern: '^[A-Z]{3}$' },
      },
    },
    timeZones: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['zone', 'weight', 'country'],
        properties: { zone: { type: 'string', minLength: 1 }, weight: nonNegative, country: { enum: [...PHONE_COUNTRIES] } },
      },
    },
    rhythms: {
      type: 'object',
      propertyNames: nameSchema,
      additionalProperties: { type: 'array', items: nonNegative, minItems: 24, maxItems: 24 },
    },
    identity: {
      type: 'object',
      additionalProperties: false,
      required: [
        'devices',
        'appShare',
        'cookieResetPerSession',
        'sharedTabletShare',
        'contact',
        'emailOnLoginShare',
        'emailVariantShare',
        'phoneNationalShare',
        'junkShare',
        'junkValues',
        'malformedShare',
      ],
      properties: {
        devices: { type: 'array', items: nonNegative, minItems: 1, maxItems: 5 },
        appShare: share,
        cookieResetPerSession: share,
        sharedTabletShare: share,
        contact: {
          type: 'object',
          additionalProperties: false,
          required: ['customerEmail', 'customerPhone', 'prospectEmail', 'prospectPhone'],
          properties: { customerEmail: share, customerPhone: share, prospectEmail: share, prospectPhone: share },
        },
        emailOnLoginShare: share,
        emailVariantShare: share,
        phoneNationalShare: share,
        junkShare: share,
        junkValues: { type: 'array', items: { type: 'string' }, minItems: 1 },
        malformedShare: share,
      },
    },
    consent: {
      type: 'object',
      additionalProperties: false,
      required: ['initialWithin', 'marketing', 'changesPerYear'],
      properties: {
        initialWithin: durationSchema,
        marketing: { type: 'object', propertyNames: { enum: ['email', 'sms', 'push'] }, additionalProperties: share },
        changesPerYear: nonNegative,
      },
    },
    sources: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['medium', 'weight'],
        properties: {
          medium: nameSchema,
          weight: nonNegative,
          referrers: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
          campaigns: { type: 'boolean' },
          source: { type: 'string', minLength: 1 },
        },
      },
    },
    categories: {
      type: 'object',
      propertyNames: nameSchema,
      minProperties: 1,
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['business', 'products', 'searches', 'pages'],
        properties: {
          business: { enum: ['bank', 'retail'] },
          products: { type: 'array', items: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]*$' }, minItems: 1 },
          searches: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
          pages: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['path', 'weight'],
              properties: {
                path: { type: 'string', pattern: '^/' },
                weight: nonNegative,
                attributes: {
                  type: 'array',
                  items: {
                    type: 'object',
                    additionalProperties: false,
                    required: ['key', 'value', 'share'],
                    properties: { key: nameSchema, value: { type: 'string' }, share },
                  },
                },
              },
            },
          },
        },
      },
    },
    personas: {
      type: 'object',
      propertyNames: nameSchema,
      minProperties: 1,
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['description', 'business', 'weight', 'customerShare', 'habits'],
        properties: {
          description: { type: 'string' },
          business: { enum: ['bank', 'retail'] },
          weight: nonNegative,
          customerShare: share,
          cardShare: share,
          balance: {
            type: 'object',
            additionalProperties: false,
            required: ['start', 'incomePerMonth', 'bill'],
            properties: {
              start: range,
              incomePerMonth: range,
              bill: range,
              atRisk: {
                type: 'object',
                additionalProperties: false,
                required: ['share', 'start', 'incomePerMonth'],
                properties: { share, start: range, incomePerMonth: range },
              },
            },
          },
          habits: { type: 'array', minItems: 1, items: habit },
        },
      },
    },
    outcomes: {
      type: 'object',
      additionalProperties: false,
      required: ['respondToDecisions', 'deliveredShare', 'shownShare', 'clickShare', 'dismissShare', 'default', 'triggers'],
      properties: {
        respondToDecisions: {
          type: 'array',
          items: { enum: ['no_consent', 'no_reachable_channel', 'quiet_hours', 'capped', 'cooldown', 'outranked', 'stale', 'held_out'] },
        },
        deliveredShare: share,
        shownShare: share,
        clickShare: share,
        dismissShare: share,
        default: triggerOutcome,
        triggers: { type: 'object', additionalProperties: triggerOutcome },
      },
    },
  },
};

/** Which habit fields each kind reads; any other field is a mistake worth an error. */
const KIND_FIELDS: Record<HabitKind, readonly string[]> = {
  browse: ['channel', 'pages', 'dwellSeconds', 'categories', 'loginShare', 'searchShare', 'cartShare', 'purchaseShare'],
  banking: ['channel', 'billPaymentShare', 'transferShare', 'browseShare', 'categories', 'pages', 'dwellSeconds'],
  atm: ['amount', 'balanceViewShare'],
  card: ['amount'],
  call: ['verifiedShare', 'reasons'],
  email: ['clickShare', 'categories'],
  branch: [],
};
const COMMON_FIELDS = ['kind', 'perMonth', 'spread', 'rhythm', 'trendPerMonth'];
const KIND_CHANNELS: Partial<Record<HabitKind, readonly string[]>> = {
  browse: ['web', 'app'],
  banking: ['online_banking', 'app'],
};
const BANK_ONLY: readonly HabitKind[] = ['banking', 'atm', 'card', 'branch'];

export { parseDuration };

/** What the schema cannot say: names that must exist, ranges in order, zones the runtime knows. */
function check(config: SimulatorConfig, fail: Fail): void {
  if (Number.isNaN(Date.parse(config.simulation.epoch))) fail('/simulation/epoch', `'${config.simulation.epoch}' is not a date-time`);
  config.timeZones.forEach((tz, i) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz.zone });
    } catch {
      fail(`/timeZones/${i}/zone`, `'${tz.zone}' is not an IANA time zone (e.g. Europe/Dublin)`);
    }
  });
  if (config.timeZones.every((tz) => tz.weight === 0)) fail('/timeZones', 'at least one weight must be above 0');
  for (const [rhythm, hours] of Object.entries(config.rhythms)) {
    if (hours.every((w) => w === 0)) fail(`/rhythms/${rhythm}`, 'at least one hour must be above 0');
  }
  if (config.identity.devices.every((w) => w === 0)) fail('/identity/devices', 'at least one weight must be above 0');
  if (parseDuration(config.consent.initialWithin) === 0) fail('/consent/initialWithin', 'must be longer than 0');
  if (config.sources.every((s) => s.weight === 0)) fail('/sources', 'at least one weight must be above 0');
  for (const [id, category] of Object.entries(config.categories)) {
    if (category.pages.every((p) => p.weight === 0)) fail(`/categories/${id}/pages`, 'at least one weight must be above 0');
  }
  if (Object.values(config.personas).every((p) => p.weight === 0)) fail('/personas', 'at least one persona weight must be above 0');
  for (const [id, persona] of Object.entries(config.personas)) {
    const at = `/personas/${id}`;
    const checkRange = (path: string, r: Range) => {
      if (r[0] > r[1]) fail(path, `[${r[0]}, ${r[1]}]: the minimum must not be above the maximum`);
    };
    if (persona.balance) {
      checkRange(`${at}/balance/start`, persona.balance.start);
      checkRange(`${at}/balance/incomePerMonth`, persona.balance.incomePerMonth);
      checkRange(`${at}/balance/bill`, persona.balance.bill);
      if (persona.balance.atRisk) {
        checkRange(`${at}/balance/atRisk/start`, persona.balance.atRisk.start);
        checkRange(`${at}/balance/atRisk/incomePerMonth`, persona.balance.atRisk.incomePerMonth);
      }
    }
    persona.habits.forEach((h, i) => {
      const hp = `${at}/habits/${i}`;
      const allowed = new Set([...COMMON_FIELDS, ...KIND_FIELDS[h.kind]]);
      for (const field of Object.keys(h)) {
        if (!allowed.has(field)) fail(`${hp}/${field}`, `'${field}' is not read by ${h.kind} habits (they read: ${KIND_FIELDS[h.kind].join(', ') || 'only the common fields'})`);
      }
      const channels = KIND_CHANNELS[h.kind];
      if (channels && (h.channel === undefined || !channels.includes(h.channel))) {
        fail(`${hp}${h.channel === undefined ? '' : '/channel'}`, `a ${h.kind} habit needs channel: ${channels.join(' or ')}`);
      }
      if (BANK_ONLY.includes(h.kind) && persona.business !== 'bank') fail(`${hp}/kind`, `${h.kind} habits are for bank personas (this one is ${persona.business})`);
      if (h.rhythm !== undefined && !config.rhythms[h.rhythm]) {
        fail(`${hp}/rhythm`, `unknown rhythm '${h.rhythm}' (known: ${Object.keys(config.rhythms).join(', ')})`);
      }
      const rhythm = h.rhythm ?? DEFAULT_RHYTHM[h.kind];
      if (!config.rhythms[rhythm]) fail(`${hp}`, `the default rhythm of ${h.kind} habits, '${rhythm}', is not in rhythms: add it or set rhythm`);
      if (h.pages && h.pages.mean > h.pages.max) fail(`${hp}/pages`, `mean ${h.pages.mean} is above max ${h.pages.max}`);
      if (h.amount) checkRange(`${hp}/amount`, h.amount);
      if ((h.kind === 'browse' || h.kind === 'email' || (h.kind === 'banking' && (h.browseShare ?? 0) > 0)) && !h.categories) {
        fail(hp, `a ${h.kind} habit that views pages needs categories`);
      }
      for (const category of Object.keys(h.categories ?? {})) {
        const known = config.categories[category];
        if (!known) fail(`${hp}/categories/${category}`, `unknown category '${category}' (known: ${Object.keys(config.categories).join(', ')})`);
        if (known.business !== persona.business) fail(`${hp}/categories/${category}`, `'${category}' is a ${known.business} category; this persona is ${persona.business}`);
      }
      if (h.categories && Object.values(h.categories).every((w) => w === 0)) fail(`${hp}/categories`, 'at least one weight must be above 0');
      if (h.reasons && Object.values(h.reasons).every((w) => w === 0)) fail(`${hp}/reasons`, 'at least one weight must be above 0');
    });
  }
  const outcome = (path: string, spec: TriggerOutcomeSpec) => {
    const rate = spec.baseRate + spec.uplift;
    if (rate < 0 || rate > 1) fail(path, `baseRate + uplift = ${rate}: a conversion rate must be between 0 and 1`);
    const [min, max] = spec.conversionDelay.map(parseDuration) as [number, number];
    if (min > max) fail(`${path}/conversionDelay`, `[${spec.conversionDelay.join(', ')}]: the minimum must not be above the maximum`);
  };
  outcome('/outcomes/default', config.outcomes.default);
  for (const [id, spec] of Object.entries(config.outcomes.triggers)) outcome(`/outcomes/triggers/${id}`, spec);
}

/** The rhythm a habit follows unless it names one. */
export const DEFAULT_RHYTHM: Record<HabitKind, string> = {
  browse: 'online',
  banking: 'online',
  atm: 'daytime',
  card: 'daytime',
  call: 'office',
  email: 'inbox',
  branch: 'office',
};

const personasFile: ConfigFile<SimulatorConfig, SimulatorConfig> = {
  name: 'personas.yaml',
  schema: SIMULATOR_CONFIG_SCHEMA,
  compile(config, _context, fail) {
    check(config, fail);
    return config;
  },
};

/** Loads and validates a personas file (simulator/personas.yaml unless given). */
export function loadSimulatorConfig(file: string = DEFAULT_PERSONAS_FILE): SimulatorConfig {
  return loadConfigFile(personasFile, file, undefined);
}

/** The same from text (tests, tools that build a variant in memory). */
export function parseSimulatorConfig(file: string, text: string): SimulatorConfig {
  return parseConfigFile(personasFile, file, text, undefined);
}
