import { createHash, createHmac } from 'node:crypto';
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import { ConfigError } from '../../runtime/errors';
import type { Identifier } from '../model/touchpoint';
import type { IdentityConfig } from './config';

/** Built-in values that identify nobody; config/identity.yaml adds more. */
const ALWAYS_BLOCKED = ['', 'null', 'undefined', 'nil', 'none', '0', '-1', 'anonymous', 'unknown', 'n/a', 'test'];
/** All-zero ids: 0000, 00000000-0000-0000-0000-000000000000, 0:0:0... */
const ALL_ZERO = /^[0\-:.\s]+$/;

export type Normalised = { ok: true; value: string } | { ok: false; reason: string };

/**
 * Normalises, checks and hashes identifiers at ingest, so that raw PII
 * (emails, phone numbers) never reaches a store or a topic, and two
 * spellings of one email are one identifier. The hash is an HMAC with a
 * secret: without the secret, a hash cannot be reversed by hashing
 * candidate emails.
 */
export class IdentifierHasher {
  private readonly blockedValues: Set<string>;
  private readonly blockedPatterns: RegExp[];
  private readonly strength: Map<string, number>;

  constructor(
    private readonly config: IdentityConfig,
    private readonly secret: string,
  ) {
    this.blockedValues = new Set([...ALWAYS_BLOCKED, ...config.blocked.values.map((v) => v.trim().toLowerCase())]);
    this.blockedPatterns = [ALL_ZERO, ...config.blocked.patterns.map((p) => new RegExp(`^(?:${p})$`, 'i'))];
    this.strength = new Map(config.typeStrength.map((type, i) => [type, i]));
  }

  normalise(type: string, raw: string): Normalised {
    const max = this.config.input.maxIdentifierLength;
    if (raw.length > max) return { ok: false, reason: `${raw.length} characters, more than input.maxIdentifierLength (${max})` };
    // U+FFFD is what a decoder leaves of invalid UTF-8: two broken spellings must not hash alike.
    if (raw.includes('\uFFFD')) return { ok: false, reason: 'not valid UTF-8' };
    const trimmed = raw.trim();
    if (this.isBlocked(trimmed)) return { ok: false, reason: `blocked value for ${type}` };
    switch (type) {
      case 'email': {
        const email = trimmed.toLowerCase();
        if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) return { ok: false, reason: 'not an email address' };
        return { ok: true, value: email };
      }
      case 'phone': {
        const phone = parsePhoneNumberFromString(trimmed, this.config.defaultPhoneRegion as CountryCode);
        if (!phone || !phone.isPossible()) return { ok: false, reason: 'not a phone number' };
        return { ok: true, value: phone.number };
      }
      default:
        return { ok: true, value: trimmed };
    }
  }

  /** `type:hash`, the identifier's key everywhere after ingest. */
  hash(type: string, normalised: string): string {
    const digest = createHmac('sha256', this.secret).update(`${type}:${normalised}`).digest('base64url').slice(0, 22);
    return `${type}:${digest}`;
  }

  /** Hashed identifiers, strongest type first, without duplicates; the rejected ones with reasons. */
  prepare(identifiers: readonly Identifier[]): { accepted: Identifier[]; rejected: { type: string; reason: string }[] } {
    const accepted: Identifier[] = [];
    const rejected: { type: string; reason: string }[] = [];
    const seen = new Set<string>();
    for (const { type, value } of identifiers) {
      const normalised = this.normalise(type, value);
      if (!normalised.ok) {
        rejected.push({ type, reason: normalised.reason });
        continue;
      }
      const key = this.hash(type, normalised.value);
      if (seen.has(key)) continue;
      seen.add(key);
      accepted.push({ type, value: key });
    }
    accepted.sort((a, b) => this.rank(a.type) - this.rank(b.type));
    return { accepted, rejected };
  }

  rank(type: string): number {
    return this.strength.get(type) ?? this.strength.size;
  }

  private isBlocked(value: string): boolean {
    return this.blockedValues.has(value.toLowerCase()) || this.blockedPatterns.some((p) => p.test(value));
  }
}

/** The profile an identifier starts, before it is linked: derived from the identifier, so replays agree. */
export function profileIdFor(identifierKey: string): string {
  return `p-${createHash('sha256').update(identifierKey).digest('base64url').slice(0, 20)}`;
}

/** The HMAC key: from the environment, or the development key outside production. */
export function identitySecret(config: IdentityConfig, env: NodeJS.ProcessEnv = process.env): string {
  const secret = env[config.hashing.secretEnv];
  if (secret) return secret;
  if (env.NODE_ENV === 'production') {
    throw new ConfigError('environment', config.hashing.secretEnv, 'not set: identifiers cannot be hashed without a secret in production (identity.yaml, hashing.secretEnv names the variable)');
  }
  return config.hashing.developmentSecret;
}
