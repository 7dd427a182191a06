import type { CountryCode } from 'libphonenumber-js';
import { positiveDurationSchema } from '../../config/duration';
import type { ConfigFile, Fail } from '../../config/load';
import { mapByName, nameSchema } from '../../config/names';

/** config/identity.yaml */
export interface IdentityConfig {
  hashing: {
    /** Environment variable holding the HMAC key. */
    secretEnv: string;
    /** Used when the variable is unset, outside production only (local stack, tests, demo). */
    developmentSecret: string;
  };
  /** Region for phone numbers written without a country code (ISO 3166 alpha-2). */
  defaultPhoneRegion: string;
  /** Identifier types from strongest to weakest; the strongest on a touchpoint decides its profile. */
  typeStrength: string[];
  /** Types of which a profile holds at most one value: two different values never merge (two known customers). */
  uniqueTypes: string[];
  /** Most values of a type one profile may hold (shared devices, cookie churn); links beyond are refused. */
  limits: Record<string, number>;
  trust: {
    /** Only these event types may link identifiers... */
    linkEventTypes: string[];
    /** ...on these channels... */
    linkChannels: string[];
    /** ...and only when the person proved who they are (logged in, verified). */
    requireAuthenticated: boolean;
  };
  /** Size limits on what a channel sends: a value past them is a channel's bug, not a person. */
  input: {
    /** Longer identifier values are rejected (and audited) before hashing. */
    maxIdentifierLength: number;
    /** Any other string of a touchpoint (search terms, paths, attribute values...). */
    maxStringLength: number;
    /** Entries of `attributes`. */
    maxAttributes: number;
    /**
     * How far a touchpoint's occurredAt may be ahead of its Kafka record's
     * timestamp (a duration, e.g. 1d); further ahead, it goes to the
     * dead-letter topic instead of moving event time. Unset: no limit.
     */
    maxFutureSkew?: string;
  };
  /**
   * Merges that can be undone (an `identity_correction` splits them): which
   * merges keep what a split needs, for how long, and who may ask. Unset:
   * no merge is kept, and every correction is refused.
   */
  reversibleMerges?: ReversibleMerges;
  blocked: {
    /** Values that identify nobody, compared after trimming and lower-casing. */
    values: string[];
    /** Regular expressions (whole value) for more such values. */
    patterns: string[];
  };
}

export interface ReversibleMerges {
  /** Merges made by a touchpoint of one of these channels keep their provenance (where people verify people by hand, and get it wrong). */
  linkChannels: string[];
  /** How long after a merge it can still be undone (a duration, e.g. 7d): the provenance is kept this long, in event time. */
  horizon: string;
  /** Channels whose `identity_correction` touchpoints are accepted (authenticated: staff who checked). */
  correctionChannels: string[];
}

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['hashing', 'defaultPhoneRegion', 'typeStrength', 'uniqueTypes', 'limits', 'trust', 'input', 'blocked'],
  properties: {
    hashing: {
      type: 'object',
      additionalProperties: false,
      required: ['secretEnv', 'developmentSecret'],
      properties: { secretEnv: { type: 'string', minLength: 1 }, developmentSecret: { type: 'string', minLength: 16 } },
    },
    defaultPhoneRegion: { type: 'string', pattern: '^[A-Z]{2}$' },
    typeStrength: { type: 'array', minItems: 1, uniqueItems: true, items: nameSchema },
    uniqueTypes: { type: 'array', uniqueItems: true, items: { type: 'string' } },
    limits: mapByName({ type: 'integer', minimum: 1 }),
    trust: {
      type: 'object',
      additionalProperties: false,
      required: ['linkEventTypes', 'linkChannels', 'requireAuthenticated'],
      properties: {
        linkEventTypes: { type: 'array', items: { type: 'string' } },
        linkChannels: { type: 'array', items: { type: 'string' } },
        requireAuthenticated: { type: 'boolean' },
      },
    },
    input: {
      type: 'object',
      additionalProperties: false,
      required: ['maxIdentifierLength', 'maxStringLength', 'maxAttributes'],
      properties: {
        maxIdentifierLength: { type: 'integer', minimum: 1 },
        maxStringLength: { type: 'integer', minimum: 1 },
        maxAttributes: { type: 'integer', minimum: 0 },
        maxFutureSkew: positiveDurationSchema,
      },
    },
    reversibleMerges: {
      type: 'object',
      additionalProperties: false,
      required: ['linkChannels', 'horizon', 'correctionChannels'],
      properties: {
        linkChannels: { type: 'array', uniqueItems: true, items: nameSchema },
        horizon: positiveDurationSchema,
        correctionChannels: { type: 'array', uniqueItems: true, items: nameSchema },
      },
    },
    blocked: {
      type: 'object',
      additionalProperties: false,
      required: ['values', 'patterns'],
      properties: { values: { type: 'array', items: { type: 'string' } }, patterns: { type: 'array', items: { type: 'string' } } },
    },
  },
} as const;

function compile(config: IdentityConfig, _context: void, fail: Fail): IdentityConfig {
  for (const type of config.uniqueTypes) {
    if (!config.typeStrength.includes(type)) fail('/uniqueTypes', `'${type}' is not listed in typeStrength`);
  }
  for (const type of Object.keys(config.limits)) {
    if (!config.typeStrength.includes(type)) fail(`/limits/${type}`, `'${type}' is not listed in typeStrength`);
  }
  config.blocked.patterns.forEach((pattern, i) => {
    try {
      new RegExp(pattern);
    } catch (error) {
      fail(`/blocked/patterns/${i}`, `not a valid regular expression: ${(error as Error).message}`);
    }
  });
  if (!isRegion(config.defaultPhoneRegion)) fail('/defaultPhoneRegion', `'${config.defaultPhoneRegion}' is not a known region`);
  return config;
}

function isRegion(region: string): region is CountryCode {
  const { isSupportedCountry } = require('libphonenumber-js') as typeof import('libphonenumber-js');
  return isSupportedCountry(region);
}

/** config/identity.yaml */
export const identityFile: ConfigFile<IdentityConfig, IdentityConfig> = { name: 'identity.yaml', schema, compile };
