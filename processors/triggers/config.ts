import { durationSchema, parseDuration, positiveDurationSchema } from '../../config/duration';
import type { ConfigFile, Fail } from '../../config/load';
import { dottedNameSchema, mapByName, nameSchema } from '../../config/names';
import type { ScoringModel } from '../scoring/model';
import { ConditionCompiler, conditionSchema, PURPOSES, refuseRetiredForms, type Condition, type Purpose, type Vocabulary } from '../segmentation/conditions';
import type { SegmentRules } from '../segmentation/rules';

export { PURPOSES, type Purpose };

// ---------------------------------------------------------------------------------------------
// config/triggers.yaml: the rules (when, for whom, what)
// ---------------------------------------------------------------------------------------------

export const ACTIONS = ['offer', 'banner', 'chat_prompt', 'account_alert', 'call_back', 'email', 'push'] as const;
export type Action = (typeof ACTIONS)[number];

/** How firings of one person in one arbitration window are ranked (eligibility.ts, arbitration.ts). */
export const ARBITRATION_METHODS = ['priority', 'expected-value'] as const;
export type ArbitrationMethod = (typeof ARBITRATION_METHODS)[number];

/** What one conversion is worth when a rule and `defaults` say nothing: every rule alike, so expected value ranks by uplift alone. */
export const DEFAULT_CONVERSION_VALUE = 1;

/** config/triggers.yaml as written. */
export interface TriggersFile {
  /**
   * Here rather than beside the window in engagement.yaml: ranking by
   * expected value reads each rule's `value`, so a variant that tries it
   * changes one file.
   */
  arbitration?: { method: ArbitrationMethod };
  /** Values every trigger gets unless its `engage` (or `grace`) says otherwise. */
  defaults: TriggerDefaults;
  triggers: TriggerSpec[];
}

/** config/triggers.yaml, checked against the files it names. */
export interface TriggerRules extends TriggersFile {
  /** What `who` conditions may name (scores, counters, segments), for compiling them (rules.ts). */
  vocabulary: Vocabulary;
}

export interface TriggerDefaults {
  /** How late (behind stream time) an event may arrive and still count for a sequence or absence. */
  grace: string;
  priority: number;
  ttl: string;
  purpose: Purpose;
  maxDelay: string;
  holdoutPercent: number;
  cooldown: string;
  value?: number;
}

export interface TriggerSpec {
  /** lower_snake_case, unique; part of every command id. */
  id: string;
  /** One sentence; goes into every decision trace as `rule`. */
  description: string;
  /** false keeps the rule in the file but off. */
  enabled?: boolean;
  grace?: string;
  when: WhenSpec;
  who?: Condition;
  engage: EngageSpec;
  /** What counts as success for lift (defaults: engagement.yaml `outcomes`). */
  measure?: { conversionEvents?: string[]; attributionWindow?: string };
}

/** Exactly one of these. */
export interface WhenSpec {
  event?: EventFilter;
  sequence?: { steps: SequenceStep[]; within: string };
  absence?: { after: EventFilter; missing: EventFilter; within: string };
  segmentEntered?: string;
  scoreCrosses?: { score: string; above?: number; below?: number };
}

export interface EventFilter {
  eventType: string | string[];
  channel?: string | string[];
  /** page.category */
  category?: string | string[];
  /** page.path, exact, or a prefix when it ends with `*`. */
  path?: string;
  /** page.product */
  product?: string | string[];
  authenticated?: boolean;
  /** Every listed attribute must have this value. */
  attributes?: Record<string, string>;
  /** Account condition: the balance reported with the event is below this. */
  balanceBelow?: MoneyBound;
  amountAtLeast?: MoneyBound;
}

export interface MoneyBound {
  minorUnits: number;
  /** When set, events in another currency do not match. */
  currency?: string;
}

export interface SequenceStep extends EventFilter {
  /** The step repeats this many times (default 1). */
  times?: number;
}

export interface EngageSpec {
  action: Action;
  contentRef: string;
  /** In preference order: the first one that passes consent, reach, quiet hours and its caps is used. */
  channels: (string | ChannelChoice)[];
  priority?: number;
  ttl?: string;
  purpose?: Purpose;
  maxDelay?: string;
  holdoutPercent?: number;
  cooldown?: string;
  /** What one conversion is worth to the business (e.g. in currency units), for `arbitration.method: expected-value`. */
  value?: number;
}

/** A channel with its own action or content (e.g. a banner on web, an email otherwise). */
export interface ChannelChoice {
  channel: string;
  action?: Action;
  contentRef?: string;
}

const oneOrMany = { anyOf: [{ type: 'string', minLength: 1 }, { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } }] } as const;
const moneyBound = {
  type: 'object',
  additionalProperties: false,
  required: ['minorUnits'],
  properties: { minorUnits: { type: 'integer' }, currency: { type: 'string', pattern: '^[A-Z]{3}$' } },
} as const;
const filterProperties = {
  eventType: oneOrMany,
  channel: oneOrMany,
  category: oneOrMany,
  path: { type: 'string', minLength: 1, pattern: '^[^*]*\\*?$', description: "'*' may only end a path (a prefix match), e.g. /mortgages/*" },
  product: oneOrMany,
  authenticated: { type: 'boolean' },
  attributes: { type: 'object', additionalProperties: { type: 'string' } },
  balanceBelow: moneyBound,
  amountAtLeast: moneyBound,
} as const;

/** The engagement settings a trigger may set and `defaults` may give for every trigger. */
const ENGAGE_DEFAULTABLE = {
  priority: { type: 'integer', minimum: 0, maximum: 1000 },
  ttl: positiveDurationSchema,
  purpose: { enum: [...PURPOSES] },
  maxDelay: durationSchema,
  holdoutPercent: { type: 'number', minimum: 0, maximum: 100 },
  cooldown: durationSchema,
  value: { type: 'number', exclusiveMinimum: 0 },
} as const;

const rulesSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['defaults', 'triggers'],
  $defs: {
    filter: { type: 'object', additionalProperties: false, required: ['eventType'], properties: filterProperties },
    condition: conditionSchema,
  },
  properties: {
    arbitration: {
      type: 'object',
      additionalProperties: false,
      required: ['method'],
      properties: { method: { enum: [...ARBITRATION_METHODS] } },
    },
    defaults: {
      type: 'object',
      additionalProperties: false,
      required: ['grace', 'priority', 'ttl', 'purpose', 'maxDelay', 'holdoutPercent', 'cooldown'],
      properties: {
        grace: durationSchema,
        ...ENGAGE_DEFAULTABLE,
      },
    },
    triggers: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'description', 'when', 'engage'],
        properties: {
          id: nameSchema,
          description: { type: 'string', minLength: 1 },
          enabled: { type: 'boolean' },
          grace: durationSchema,
          when: {
            title: "a trigger's when",
            type: 'object',
            additionalProperties: false,
            oneOf: ['event', 'sequence', 'absence', 'segmentEntered', 'scoreCrosses'].map((kind) => ({ type: 'object', required: [kind] })),
            properties: {
              event: { $ref: '#/$defs/filter' },
              sequence: {
                type: 'object',
                additionalProperties: false,
                required: ['steps', 'within'],
                properties: {
                  steps: {
                    type: 'array',
                    minItems: 1,
                    items: {
                      type: 'object',
                      additionalProperties: false,
                      required: ['eventType'],
                      properties: { ...filterProperties, times: { type: 'integer', minimum: 1 } },
                    },
                  },
                  within: positiveDurationSchema,
                },
              },
              absence: {
                type: 'object',
                additionalProperties: false,
                required: ['after', 'missing', 'within'],
                properties: { after: { $ref: '#/$defs/filter' }, missing: { $ref: '#/$defs/filter' }, within: positiveDurationSchema },
              },
              segmentEntered: nameSchema,
              scoreCrosses: {
                title: 'a score crossing',
                type: 'object',
                additionalProperties: false,
                required: ['score'],
                oneOf: [{ type: 'object', required: ['above'] }, { type: 'object', required: ['below'] }],
                properties: { score: dottedNameSchema, above: { type: 'number' }, below: { type: 'number' } },
              },
            },
          },
          who: { $ref: '#/$defs/condition' },
          engage: {
            type: 'object',
            additionalProperties: false,
            required: ['action', 'contentRef', 'channels'],
            properties: {
              action: { enum: [...ACTIONS] },
              contentRef: { type: 'string', minLength: 1 },
              channels: {
                type: 'array',
                minItems: 1,
                items: {
                  anyOf: [
                    nameSchema,
                    {
                      type: 'object',
                      additionalProperties: false,
                      required: ['channel'],
                      properties: { channel: nameSchema, action: { enum: [...ACTIONS] }, contentRef: { type: 'string', minLength: 1 } },
                    },
                  ],
                },
              },
              ...ENGAGE_DEFAULTABLE,
            },
          },
          measure: {
            type: 'object',
            additionalProperties: false,
            properties: {
              conversionEvents: { type: 'array', minItems: 1, items: nameSchema },
              attributionWindow: durationSchema,
            },
          },
        },
      },
    },
  },
} as const;

/** Most steps a sequence may have (times included): the step set is a bit mask. */
export const MAX_SEQUENCE_STEPS = 30;

/** What triggers.yaml reads from the files before it. */
export interface TriggersContext {
  scoring: ScoringModel;
  segments: SegmentRules;
}

function compile(file: TriggersFile, context: TriggersContext, fail: Fail): TriggerRules {
  const segments = new Set(context.segments.segmentIndex.keys());
  const vocabulary: Vocabulary = { scores: new Set(context.scoring.byName.keys()), counters: context.segments.counterByName, segments };
  const ids = new Map<string, number>();
  file.triggers.forEach((t, i) => {
    const at = `/triggers/${i}`;
    const first = ids.get(t.id);
    if (first !== undefined) fail(`${at}/id`, `trigger id '${t.id}' is already used by triggers[${first}]; ids must be unique (they are part of every command id)`);
    ids.set(t.id, i);
    const w = t.when;
    if (w.segmentEntered !== undefined && !segments.has(w.segmentEntered)) {
      fail(`${at}/when/segmentEntered`, `unknown segment '${w.segmentEntered}' (segments in segments.yaml: ${[...segments].join(', ')})`);
    }
    if (w.scoreCrosses && !vocabulary.scores.has(w.scoreCrosses.score)) {
      fail(`${at}/when/scoreCrosses/score`, `unknown score '${w.scoreCrosses.score}' (scores in scoring.yaml: ${[...vocabulary.scores].join(', ')})`);
    }
    if (w.sequence) {
      const steps = w.sequence.steps.reduce((n, s) => n + (s.times ?? 1), 0);
      if (steps > MAX_SEQUENCE_STEPS) fail(`${at}/when/sequence/steps`, `${steps} steps (times included); at most ${MAX_SEQUENCE_STEPS}`);
    }
    if (t.who) new ConditionCompiler(vocabulary, fail).compile(t.who, `${at}/who`, new Set());
    const channels = t.engage.channels.map((c) => (typeof c === 'string' ? c : c.channel));
    channels.forEach((c, j) => {
      if (channels.indexOf(c) !== j) fail(`${at}/engage/channels/${j}`, `channel '${c}' is listed twice`);
    });
    if (w.absence) {
      const grace = parseDuration(t.grace ?? file.defaults.grace);
      const maxDelay = parseDuration(t.engage.maxDelay ?? file.defaults.maxDelay);
      if (maxDelay <= grace) {
        fail(
          t.engage.maxDelay ? `${at}/engage/maxDelay` : '/defaults/maxDelay',
          `an absence is decided 'grace' (${t.grace ?? file.defaults.grace}) after its deadline, so maxDelay must be longer than that or every firing is stale`,
        );
      }
    }
  });
  return { ...file, vocabulary };
}

/** config/triggers.yaml, checked against the scores and segments it names. */
export const triggersFile: ConfigFile<TriggersFile, TriggerRules, TriggersContext> = {
  name: 'triggers.yaml',
  schema: rulesSchema,
  retired(value, fail) {
    const file = value as { knownIdentifierTypes?: unknown; triggers?: unknown } | null;
    if (file?.knownIdentifierTypes !== undefined) {
      fail('/knownIdentifierTypes', 'is no longer read: a person is known when a customer id is linked to their profile, in triggers, segments and the profile view alike; remove it');
    }
    if (Array.isArray(file?.triggers)) file.triggers.forEach((t, i) => refuseRetiredForms((t as { who?: unknown } | null)?.who, `/triggers/${i}/who`, fail));
  },
  compile,
};

// ---------------------------------------------------------------------------------------------
// config/engagement.yaml, section `eligibility`: the permission policy
// ---------------------------------------------------------------------------------------------

/** config/engagement.yaml → `eligibility` */
export interface EligibilityConfig {
  /** IANA zone for people whose time zone is unknown (quiet hours). */
  defaultTimeZone: string;
  consent: {
    /** Purposes allowed when the person has no consent record for the channel (an explicit withdrawal still blocks). */
    allowWithoutRecord: Purpose[];
  };
  /** Every channel a trigger may use, with how it is reached. */
  channels: Record<string, ChannelPolicy>;
  fatigue: {
    caps: CapSpec[];
    dismissals: {
      /** Extra weight of each dismissal in the overall caps (0: dismissals do not count). */
      countAs: number;
      /** A dismissed trigger is not sent to that person again for this long. */
      triggerCooldown: string;
    };
  };
  arbitration: {
    /** Firings for one person within this window compete; only the highest priority is sent. 0s: decide at once. */
    window: string;
  };
  holdout: {
    /** Mixed into the holdout hash; changing it re-draws groups for people not yet assigned. */
    salt: string;
  };
}

export interface ChannelPolicy {
  /** session: only while the person's session on the channel is active; identifier: when the profile holds one of `identifierTypes`; always. */
  reach: 'session' | 'identifier' | 'always';
  /** reach: session — inactivity after which the session is over. */
  sessionGap?: string;
  /** reach: identifier — any of these identifier types. */
  identifierTypes?: string[];
  /** Local time in the person's zone, HH:MM; `from` > `to` spans midnight. */
  quietHours?: { from: string; to: string; purposes?: Purpose[] };
}

export interface CapSpec {
  /** Without a channel the cap counts commands on every channel (overall). */
  channel?: string;
  max: number;
  per: string;
}

const CLOCK = '^([01][0-9]|2[0-3]):[0-5][0-9]$';

/** engagement.yaml's `eligibility` (config/engagement.ts reads the file). */
export const eligibilitySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['defaultTimeZone', 'consent', 'channels', 'fatigue', 'arbitration', 'holdout'],
  properties: {
    defaultTimeZone: { type: 'string', minLength: 1 },
    consent: {
      type: 'object',
      additionalProperties: false,
      required: ['allowWithoutRecord'],
      properties: { allowWithoutRecord: { type: 'array', uniqueItems: true, items: { enum: [...PURPOSES] } } },
    },
    channels: mapByName(
      {
        type: 'object',
        additionalProperties: false,
        required: ['reach'],
        properties: {
          reach: { enum: ['session', 'identifier', 'always'] },
          sessionGap: durationSchema,
          identifierTypes: { type: 'array', minItems: 1, items: nameSchema },
          quietHours: {
            type: 'object',
            additionalProperties: false,
            required: ['from', 'to'],
            properties: {
              from: { type: 'string', pattern: CLOCK },
              to: { type: 'string', pattern: CLOCK },
              purposes: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: [...PURPOSES] } },
            },
          },
        },
      },
      { minProperties: 1 },
    ),
    fatigue: {
      type: 'object',
      additionalProperties: false,
      required: ['caps', 'dismissals'],
      properties: {
        caps: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['max', 'per'],
            properties: { channel: nameSchema, max: { type: 'integer', minimum: 0 }, per: positiveDurationSchema },
          },
        },
        dismissals: {
          type: 'object',
          additionalProperties: false,
          required: ['countAs', 'triggerCooldown'],
          properties: { countAs: { type: 'number', minimum: 0 }, triggerCooldown: durationSchema },
        },
      },
    },
    arbitration: {
      type: 'object',
      additionalProperties: false,
      required: ['window'],
      properties: { window: durationSchema },
    },
    holdout: {
      type: 'object',
      additionalProperties: false,
      required: ['salt'],
      properties: { salt: { type: 'string' } },
    },
  },
} as const;

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** What engagement.yaml's `eligibility` schema cannot say, the fit of `rules` included (their channels and delays). */
export function checkEligibility(e: EligibilityConfig, rules: TriggersFile, fail: Fail): void {
  if (!isTimeZone(e.defaultTimeZone)) fail('/eligibility/defaultTimeZone', `'${e.defaultTimeZone}' is not an IANA time zone (e.g. Europe/Dublin)`);
  for (const [name, ch] of Object.entries(e.channels)) {
    const at = `/eligibility/channels/${name}`;
    if (ch.reach === 'session' && ch.sessionGap === undefined) fail(at, "reach 'session' needs 'sessionGap' (inactivity that ends a session)");
    if (ch.reach !== 'session' && ch.sessionGap !== undefined) fail(`${at}/sessionGap`, "only channels with reach 'session' have a session gap");
    if (ch.reach === 'identifier' && ch.identifierTypes === undefined) fail(at, "reach 'identifier' needs 'identifierTypes' (e.g. [email])");
    if (ch.reach !== 'identifier' && ch.identifierTypes !== undefined) fail(`${at}/identifierTypes`, "only channels with reach 'identifier' use identifier types");
    if (ch.quietHours && ch.quietHours.from === ch.quietHours.to) fail(`${at}/quietHours`, "'from' and 'to' are equal: the quiet period would be empty");
  }
  e.fatigue.caps.forEach((cap, i) => {
    if (cap.channel !== undefined && !e.channels[cap.channel]) fail(`/eligibility/fatigue/caps/${i}/channel`, `channel '${cap.channel}' is not configured under channels`);
  });
  const window = parseDuration(e.arbitration.window);
  rules.triggers.forEach((t) => {
    for (const c of t.engage.channels) {
      const channel = typeof c === 'string' ? c : c.channel;
      if (!e.channels[channel]) fail('/eligibility/channels', `trigger '${t.id}' uses channel '${channel}', which has no policy here (reach, quiet hours)`);
    }
    const grace = t.when.absence ? parseDuration(t.grace ?? rules.defaults.grace) : 0;
    const maxDelay = parseDuration(t.engage.maxDelay ?? rules.defaults.maxDelay);
    if (maxDelay <= window + grace) {
      fail(
        '/eligibility/arbitration/window',
        `trigger '${t.id}' has maxDelay ${t.engage.maxDelay ?? rules.defaults.maxDelay}, not longer than the arbitration window${grace ? ' plus its grace' : ''}: every firing would be stale`,
      );
    }
  });
}
