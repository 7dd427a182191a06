/**
 * Bad records for touchpoints.raw, each with what the engine must make of
 * it, so that a test can produce thousands of them (to the in-process
 * driver or a real broker) and account for every single one: dead-lettered
 * with the right kind, processed, or dropped as a duplicate.
 *
 * Seeded (simulator/random.ts), never Math.random: a failing proof run can
 * be reproduced byte for byte. Each record draws from its own PRNG (seed,
 * index), so the first n records are the same whatever `count` is.
 *
 * Touchpoints are encoded by the caller, so the same records work with the
 * driver's in-memory registry and with the real one (their schema ids differ).
 */
import type { Identifier, Touchpoint } from '../processors/model/touchpoint';
import { touchpoint } from '../processors/model/touchpoint';
import type { SegmentMembership } from '../processors/segmentation/segmentation-processor';
import { hashInts, hexId, Rng } from '../simulator/random';

export const HOSTILE_KINDS = [
  'random-bytes',
  'wrong-magic-byte',
  'unknown-schema-id',
  'other-schema',
  'truncated-avro',
  'empty-value',
  'null-value',
  // Before 'duplicate-event-id': every duplicate repeats the latest null-key record before it.
  'null-key',
  'invalid-utf8',
  'huge-string',
  'huge-map',
  'occurred-at-seconds',
  'occurred-at-far-future',
  'occurred-at-negative',
  'duplicate-event-id',
  'identifier-normalises-to-nothing',
  'blocked-identifier',
  'identifier-too-long',
  'some-identifiers-rejected',
] as const;

export type HostileKind = (typeof HOSTILE_KINDS)[number];

/** What must become of a record. */
export type Expectation =
  /** On touchpoints.raw.dlq exactly once, original bytes, `lp.error.kind` one of `errorKinds`. */
  | { outcome: 'dead-letter'; errorKinds: readonly string[] }
  /**
   * Reaches touchpoints.resolved (or identity.links). With `audit`: one
   * record on identity.audit of that kind and identifier type, which must
   * not contain `rejectedValue`.
   */
  | { outcome: 'processed'; audit?: { kind: 'identifier-rejected'; identifierType: string; rejectedValue: string } }
  /** The same bytes as record `original`: reaches touchpoints.resolved again, and the profile task drops it. */
  | { outcome: 'duplicate'; original: number };

export interface HostileRecord {
  index: number;
  kind: HostileKind;
  key: Buffer | null;
  value: Buffer | null;
  expect: Expectation;
  /** The event id a decoder reads from the value, when the value carries a touchpoint. */
  eventId?: string;
}

export interface HostileOptions {
  seed: number;
  count: number;
  /** A touchpoint in the Confluent wire format, with the registry's id of schemas/Touchpoint.avsc. */
  encode: (t: Touchpoint) => Buffer;
  /** A record of schemas/SegmentMembership.avsc in the wire format, under its own registered id. */
  encodeOther: (m: SegmentMembership) => Buffer;
  /** An id the registry does not have. */
  unknownSchemaId: number;
  /** Makes event ids and identifier values unique across runs against one broker: [a-z0-9-], 1 to 40 characters. */
  tag: string;
  /** Event times of the plausible touchpoints start here (default 2026-10-01) and spread over 30 days. */
  startAt?: number;
}

const DAY = 86_400_000;
const HEADER_BYTES = 5;
const HUGE_STRING = 200_000;
const HUGE_MAP = 5_000;
const TOO_LONG_IDENTIFIER = 9_000;
const INVALID_RECORD = ['invalid-record'];

export function hostileRecords(options: HostileOptions): HostileRecord[] {
  if (!/^[a-z0-9-]{1,40}$/.test(options.tag)) throw new RangeError(`tag '${options.tag}' must be 1 to 40 characters of [a-z0-9-]: it goes into emails and ids`);
  const records: HostileRecord[] = [];
  let lastNullKey: HostileRecord | undefined;
  for (let index = 0; index < options.count; index++) {
    const kind = HOSTILE_KINDS[index % HOSTILE_KINDS.length]!;
    // HOSTILE_KINDS puts 'null-key' first, so a duplicate always has a record to repeat.
    const record = kind === 'duplicate-event-id' ? duplicateOf(lastNullKey!, index) : hostile(kind, index, options);
    if (kind === 'null-key') lastNullKey = record;
    records.push(record);
  }
  return records;
}

function duplicateOf(original: HostileRecord, index: number): HostileRecord {
  // Copies, so that a caller who mutates one record does not change the other.
  return {
    index,
    kind: 'duplicate-event-id',
    key: original.key && Buffer.from(original.key),
    value: original.value && Buffer.from(original.value),
    expect: { outcome: 'duplicate', original: original.index },
    eventId: original.eventId,
  };
}

function hostile(kind: HostileKind, index: number, options: HostileOptions): HostileRecord {
  const rng = new Rng(hashInts(options.seed, index));
  const unique = `${options.tag}-s${options.seed}-${index}`;
  const start = options.startAt ?? Date.UTC(2026, 9, 1);
  const at = start + rng.int(30 * DAY);
  const key = Buffer.from(unique);
  const base = plausible(rng, unique, at);
  const dead = (errorKinds: readonly string[], value: Buffer | null, eventId?: string): HostileRecord => ({ index, kind, key, value, expect: { outcome: 'dead-letter', errorKinds }, eventId });
  const invalid = (t: Touchpoint) => dead(INVALID_RECORD, options.encode(t), t.eventId);

  switch (kind) {
    case 'random-bytes': {
      const value = Buffer.alloc(rng.intBetween(1, 256));
      for (let i = 0; i < value.length; i++) value[i] = rng.int(256);
      // A first byte of 0 could pass for the wire format and land on unknown-schema or malformed-record.
      value[0] = rng.intBetween(1, 255);
      return dead(['not-avro-wire-format'], value);
    }
    case 'wrong-magic-byte': {
      const value = Buffer.from(options.encode(base));
      value[0] = 1;
      return dead(['not-avro-wire-format'], value, base.eventId);
    }
    case 'unknown-schema-id': {
      const value = Buffer.from(options.encode(base));
      value.writeInt32BE(options.unknownSchemaId, 1);
      return dead(['unknown-schema'], value, base.eventId);
    }
    case 'other-schema': {
      const membership: SegmentMembership = { profileId: `p-${unique}`, segment: 'hostile', change: 'enter', at, reason: 'touchpoint', values: { score: rng.next() } };
      return dead(['unknown-schema'], options.encodeOther(membership));
    }
    case 'truncated-avro': {
      const whole = options.encode(base);
      // Avro binary is self-delimiting: any proper prefix of a record runs out before the record ends.
      return dead(['malformed-record'], Buffer.from(whole.subarray(0, rng.intBetween(HEADER_BYTES, whole.length - 1))), base.eventId);
    }
    case 'empty-value':
      return dead(['not-avro-wire-format'], Buffer.alloc(0));
    case 'null-value':
      return dead(['malformed-record'], null);
    case 'null-key':
      return { index, kind, key: null, value: options.encode(base), expect: { outcome: 'processed' }, eventId: base.eventId };
    case 'invalid-utf8': {
      const bad = rng.pick(INVALID_UTF8);
      const value = breakEventId(options.encode({ ...base, eventId: `${base.eventId}-${'z'.repeat(bad.length)}` }), bad);
      return dead(INVALID_RECORD, value.value, value.eventId);
    }
    case 'huge-string': {
      const huge = 'lorem ipsum '.repeat(Math.ceil(HUGE_STRING / 12)).slice(0, HUGE_STRING);
      return invalid(rng.chance(0.5) ? { ...base, eventType: 'search', searchTerms: huge } : { ...base, page: { ...page(rng), path: `/${huge}` } });
    }
    case 'huge-map': {
      const attributes: Record<string, string> = {};
      for (let i = 0; i < HUGE_MAP; i++) attributes[`attr_${i}`] = hexId(rng, 8);
      return invalid({ ...base, attributes });
    }
    case 'occurred-at-seconds':
      return invalid({ ...base, occurredAt: Math.floor(at / 1000) });
    case 'occurred-at-far-future':
      return invalid({ ...base, occurredAt: Date.UTC(2200, 0, 1) + rng.int(365 * DAY) });
    case 'occurred-at-negative':
      return invalid({ ...base, occurredAt: -rng.intBetween(1, at) });
    case 'duplicate-event-id':
      throw new Error('a duplicate repeats an earlier record: hostileRecords builds it');
    case 'identifier-normalises-to-nothing':
      return invalid({ ...base, identifiers: some(rng, UNUSABLE) });
    case 'blocked-identifier':
      return invalid({ ...base, identifiers: some(rng, BLOCKED) });
    case 'identifier-too-long':
      return invalid({ ...base, identifiers: [{ type: 'device_id', value: hexId(rng, TOO_LONG_IDENTIFIER) }] });
    case 'some-identifiers-rejected': {
      const rejected: Identifier = rng.chance(0.5) ? rng.pick(BLOCKED) : { type: 'anonymous_id', value: hexId(rng, TOO_LONG_IDENTIFIER) };
      const kept: Identifier = { type: 'customer_id', value: `cust-${unique}` };
      const t: Touchpoint = { ...base, identifiers: rng.chance(0.5) ? [kept, rejected] : [rejected, kept] };
      return {
        index,
        kind,
        key,
        value: options.encode(t),
        expect: { outcome: 'processed', audit: { kind: 'identifier-rejected', identifierType: rejected.type, rejectedValue: rejected.value } },
        eventId: t.eventId,
      };
    }
  }
}

const CHANNEL_EVENTS: readonly (readonly [string, string])[] = [
  ['web', 'page_view'],
  ['app', 'page_view'],
  ['online_banking', 'page_view'],
  ['web', 'search'],
  ['email', 'email_open'],
];

/**
 * A touchpoint a channel could have sent: 1 to 3 identifiers of distinct
 * types, unique to this record (so profiles do not mix and a duplicate is
 * recognised by its own profile), and no event that may link identifiers,
 * so that it is resolved at ingest.
 */
function plausible(rng: Rng, unique: string, at: number): Touchpoint {
  const [channel, eventType] = rng.pick(CHANNEL_EVENTS);
  const makers: ((u: string) => Identifier)[] = [
    (u) => ({ type: 'customer_id', value: `cust-${u}` }),
    (u) => ({ type: 'email', value: `person.${u}@example.com` }),
    (u) => ({ type: 'device_id', value: `dev-${u}` }),
    (u) => ({ type: 'anonymous_id', value: `anon-${u}` }),
    () => ({ type: 'phone', value: `+3538${rng.intBetween(3, 9)}${String(rng.int(10_000_000)).padStart(7, '0')}` }),
  ];
  const identifiers = pickDistinct(rng, makers, rng.intBetween(1, 3)).map((make) => make(unique));
  return touchpoint({
    eventId: unique,
    occurredAt: at,
    channel,
    eventType,
    identifiers,
    sessionId: `sess-${hexId(rng, 12)}`,
    page: eventType === 'page_view' ? page(rng) : null,
    searchTerms: eventType === 'search' ? rng.pick(['mortgage rates', 'credit card', 'running shoes', 'savings account']) : null,
    attributes: { source: 'hostile-proof' },
  });
}

function page(rng: Rng): NonNullable<Touchpoint['page']> {
  const category = rng.pick(['mortgages', 'cards', 'savings', 'shoes', 'jackets']);
  return { path: `/${category}/${hexId(rng, 6)}`, category, product: null, depth: rng.intBetween(1, 8), scrollPercent: rng.int(101), dwellMs: rng.int(120_000) };
}

/** Identifiers that are present but identify nobody once trimmed, normalised and checked. */
const UNUSABLE: readonly Identifier[] = [
  { type: 'email', value: 'not-an-email' },
  { type: 'email', value: 'two@@example' },
  { type: 'phone', value: 'abc' },
  { type: 'phone', value: '12' },
  { type: 'customer_id', value: '   ' },
  { type: 'device_id', value: '' },
];

/** Junk values (built in, and config/identity.yaml blocked.values / patterns). */
const BLOCKED: readonly Identifier[] = [
  { type: 'device_id', value: 'guest' },
  { type: 'customer_id', value: '00000' },
  { type: 'anonymous_id', value: 'unknown' },
  { type: 'device_id', value: 'N.A.' },
  { type: 'anonymous_id', value: 'xxxx' },
  { type: 'customer_id', value: 'test-user-1' },
];

/** Byte pairs that are never valid UTF-8: a stray continuation, an unfinished sequence, bytes UTF-8 never uses. */
const INVALID_UTF8: readonly (readonly number[])[] = [
  [0x80, 0x80],
  [0xc3, 0x28],
  [0xff, 0xfe],
];

function some(rng: Rng, pool: readonly Identifier[]): Identifier[] {
  return pickDistinct(rng, pool, rng.intBetween(1, 3)).map((id) => ({ ...id }));
}

function pickDistinct<T>(rng: Rng, items: readonly T[], n: number): T[] {
  const left = [...items];
  const out: T[] = [];
  while (out.length < n && left.length > 0) out.push(left.splice(rng.int(left.length), 1)[0]!);
  return out;
}

/**
 * Overwrites the last bytes of the eventId with `bad`. eventId is the first
 * field of Touchpoint, so it starts right after the header with its length
 * (a zig-zag varint); the length stays the same, so the rest still decodes.
 */
function breakEventId(wire: Buffer, bad: readonly number[]): { value: Buffer; eventId: string } {
  let raw = 0;
  let shift = 0;
  let pos = HEADER_BYTES;
  for (;;) {
    const byte = wire[pos++]!;
    raw += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if ((byte & 0x80) === 0) break;
  }
  const length = raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
  if (length < bad.length || pos + length > wire.length) throw new Error('encode must write schemas/Touchpoint.avsc, whose first field is eventId');
  const value = Buffer.from(wire);
  value.set(bad, pos + length - bad.length);
  return { value, eventId: value.toString('utf8', pos, pos + length) };
}
