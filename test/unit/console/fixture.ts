import Fastify, { type FastifyInstance } from 'fastify';
import { consoleAssets } from '../../../console/assets';
import type { ConsoleCommand, ConsoleDecision, ConsoleMeta, ConsoleProfile, LiftRow, LiveSnapshot, LookupAnswer, SegmentActivity, TriggerActivity } from '../../../console/model';

/**
 * A stand-in for the engine's console API (console/model.ts), behind the
 * same bearer token, next to the real page plugin: the pages are tested on
 * answers shaped exactly like the engine's, without a broker. Each call of
 * /api/console/live adds one bucket to every series, as a running engine's
 * roll-up does.
 */

export const TOKEN = 'fixture-token-T';
export const PHONE = '+44 7700 900123';
export const PROFILE_ID = 'p-7f3a9c21';
export const MERGED_ID = 'p-11aa02e4';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** 2026-03-02 10:15:07 UTC: the last touch of the fixture's person. */
export const T0 = Date.UTC(2026, 2, 2, 10, 15, 7);

export const META: ConsoleMeta = {
  appId: 'listening-post-fixture',
  identifierTypes: ['phone', 'email', 'customer_id'],
  triggers: [
    { id: 'cart_abandoned', description: 'Cart left for 30 min without a purchase' },
    { id: 'welcome_series', description: 'A new customer signs up' },
    { id: 'price_drop', description: 'A viewed product gets cheaper' },
  ],
};

const fatigueRefusal: ConsoleDecision = {
  decisionId: 'd-2041',
  profileId: PROFILE_ID,
  triggerId: 'cart_abandoned',
  outcome: 'capped',
  at: T0 - 5 * MINUTE,
  trace: {
    rule: 'cart_abandoned',
    causeEventIds: ['evt-cart-8812', 'evt-absence-8812'],
    scores: { purchase_intent: 0.82, churn_risk: 0.31 },
    segments: ['high_value', 'cart_openers'],
    checks: [
      { check: 'consent', passed: true, detail: 'sms marketing granted 2026-02-11 09:02:44 UTC' },
      { check: 'quiet_hours', passed: true, detail: '10:10 Europe/London is outside 21:00-08:00' },
      { check: 'cooldown', passed: true, detail: 'last cart_abandoned 3d ago' },
      { check: 'fatigue', passed: false, detail: '3 of 3 per 1d' },
      { check: 'arbitration', passed: true, detail: 'highest priority' },
    ],
  },
};

const heldOut: ConsoleDecision = {
  decisionId: 'd-1977',
  profileId: PROFILE_ID,
  triggerId: 'price_drop',
  outcome: 'held_out',
  at: T0 - 26 * HOUR,
  trace: {
    rule: 'price_drop',
    causeEventIds: ['evt-view-7702'],
    scores: { purchase_intent: 0.64 },
    segments: ['high_value'],
    checks: [{ check: 'holdout', passed: false, detail: 'in the control group (10 %)' }],
  },
};

const commands: ConsoleCommand[] = [
  {
    commandId: 'c-9102',
    profileId: PROFILE_ID,
    triggerId: 'cart_abandoned',
    channel: 'sms',
    action: 'send_cart_reminder',
    at: T0 - 2 * HOUR,
    expiresAt: T0 + 22 * HOUR,
    status: 'delivered',
    trace: {
      rule: 'cart_abandoned',
      causeEventIds: ['evt-cart-8790'],
      scores: { purchase_intent: 0.77 },
      segments: ['high_value'],
      checks: [
        { check: 'consent', passed: true, detail: 'sms marketing granted 2026-02-11 09:02:44 UTC' },
        { check: 'fatigue', passed: true, detail: '2 of 3 per 1d' },
      ],
    },
  },
  {
    commandId: 'c-8840',
    profileId: PROFILE_ID,
    triggerId: 'welcome_series',
    channel: 'email',
    action: 'send_welcome_email',
    at: T0 - 6 * DAY,
    expiresAt: null,
    status: 'opened',
    trace: null,
  },
];

export const PROFILE: ConsoleProfile = {
  profileId: PROFILE_ID,
  known: true,
  firstSeen: T0 - 6 * DAY - 2 * HOUR,
  lastSeen: T0,
  asOf: T0,
  timeZone: 'Europe/London',
  identifiers: [
    { type: 'phone', hashes: ['9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'] },
    { type: 'email', hashes: ['2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae', 'fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9'] },
  ],
  channels: [
    { channel: 'web', count: 42, lastAt: T0, sessionDepth: 7 },
    { channel: 'app', count: 17, lastAt: T0 - 20 * MINUTE, sessionDepth: 3 },
    { channel: 'email', count: 4, lastAt: T0 - 5 * DAY, sessionDepth: null },
  ],
  consent: [
    { channel: 'sms', purpose: 'marketing', granted: true, at: Date.UTC(2026, 1, 11, 9, 2, 44) },
    { channel: 'email', purpose: 'marketing', granted: true, at: T0 - 6 * DAY },
    { channel: 'push', purpose: 'marketing', granted: false, at: T0 - 3 * DAY },
  ],
  scores: [
    {
      name: 'purchase_intent',
      value: 0.82,
      contributions: [
        { signal: 'cart_add', value: 0.41 },
        { signal: 'product_view', value: 0.27 },
        { signal: 'checkout_start', value: 0.19 },
        { signal: 'days_since_purchase', value: -0.05 },
      ],
    },
    {
      name: 'churn_risk',
      value: 0.31,
      contributions: [
        { signal: 'support_contact', value: 0.22 },
        { signal: 'login', value: -0.14 },
      ],
    },
  ],
  segments: [
    { name: 'high_value', since: T0 - 4 * DAY },
    { name: 'cart_openers', since: T0 - 40 * MINUTE },
  ],
  journey: [
    { at: T0, eventId: 'evt-view-8840', channel: 'web', eventType: 'product_view', category: 'shoes', path: '/p/trail-runner-2' },
    { at: T0 - 20 * MINUTE, eventId: 'evt-app-8833', channel: 'app', eventType: 'app_open', category: null, path: null },
    { at: T0 - 40 * MINUTE, eventId: 'evt-cart-8812', channel: 'web', eventType: 'cart_add', category: 'shoes', path: '/cart' },
    { at: T0 - 2 * HOUR + 4 * MINUTE, eventId: 'evt-sms-8791', channel: 'app', eventType: 'push_open', category: null, path: null },
    { at: T0 - 5 * DAY, eventId: 'evt-mail-7012', channel: 'email', eventType: 'email_open', category: 'welcome', path: null },
    { at: T0 - 6 * DAY - 2 * HOUR, eventId: 'evt-signup-1', channel: 'web', eventType: 'sign_up', category: null, path: '/signup' },
  ],
  commands,
  decisions: [fatigueRefusal, heldOut],
  merges: [{ at: T0 - 6 * DAY, eventId: 'evt-login-6001', mergedProfileId: MERGED_ID, detail: 'login linked email to an anonymous web visitor' }],
  next: {
    triggers: [
      {
        triggerId: 'price_drop',
        description: 'A viewed product gets cheaper',
        kind: 'sequence',
        progress: 2 / 3,
        detail: '2 of 3 steps within 1d',
        until: T0 + 23 * HOUR,
        blockedBy: null,
      },
      {
        triggerId: 'cart_abandoned',
        description: 'Cart left for 30 min without a purchase',
        kind: 'absence',
        progress: 1,
        detail: 'fires at 2026-03-02 10:45:07 UTC unless purchase happens',
        until: T0 + 30 * MINUTE,
        blockedBy: 'fatigue: 3 of 3 per 1d until 2026-03-02 12:15:07 UTC',
      },
    ],
    caps: [
      { channel: null, max: 3, per: '1d', used: 3, left: 0 },
      { channel: 'sms', max: 2, per: '7d', used: 1, left: 1 },
    ],
  },
};

/** The anonymous visitor that became PROFILE_ID (its page still answers). */
export const MERGED: ConsoleProfile = {
  ...PROFILE,
  profileId: MERGED_ID,
  known: false,
  firstSeen: T0 - 7 * DAY,
  lastSeen: T0 - 6 * DAY,
  asOf: T0 - 6 * DAY,
  timeZone: null,
  identifiers: [],
  channels: [{ channel: 'web', count: 3, lastAt: T0 - 6 * DAY, sessionDepth: 3 }],
  consent: [],
  scores: [],
  segments: [],
  journey: [{ at: T0 - 7 * DAY, eventId: 'evt-anon-1', channel: 'web', eventType: 'page_view', category: null, path: '/' }],
  commands: [],
  decisions: [],
  merges: [],
  next: { triggers: [], caps: [] },
};

const LIFT: LiftRow[] = [
  { triggerId: 'cart_abandoned', treated: 1840, treatedConverted: 239, control: 205, controlConverted: 18, lift: 4.2, low: 0.6, high: 7.9, enoughData: true },
  { triggerId: 'welcome_series', treated: 960, treatedConverted: 86, control: 104, controlConverted: 9, lift: 0.3, low: -4.8, high: 5.4, enoughData: true },
  { triggerId: 'price_drop', treated: 41, treatedConverted: 5, control: 4, controlConverted: 0, lift: null, low: null, high: null, enoughData: false },
];

const BUCKET_MS = 5_000;
const LIVE_START = Date.UTC(2026, 2, 2, 10, 0, 0);

/** A wave that differs bucket by bucket, so a chart that moves is seen to move. */
const wave = (i: number, base: number, amplitude: number, phase = 0) => Math.max(0, Math.round((base + amplitude * Math.sin(i / 3 + phase)) * 10) / 10);

/** The n-th snapshot (0-based): 12 + n buckets, the last one new. */
export function liveSnapshot(n: number): LiveSnapshot {
  const buckets = 12 + n;
  const index = Array.from({ length: buckets }, (_, i) => i);
  const times = index.map((i) => LIVE_START + i * BUCKET_MS);
  const recentCommands: ConsoleCommand[] = [
    ...commands.slice(0, 1),
    { commandId: 'c-9110', profileId: 'p-02bc7d11', triggerId: 'welcome_series', channel: 'email', action: 'send_welcome_email', at: T0 - 3 * MINUTE, expiresAt: null, status: 'sent', trace: null },
  ];
  return {
    at: times[buckets - 1]! + BUCKET_MS,
    bucketMs: BUCKET_MS,
    series: {
      times,
      touchpointsIn: index.map((i) => wave(i, 120, 30)),
      touchpointsProcessed: index.map((i) => wave(i, 118, 30, -0.2)),
      deadLetters: index.map((i) => (i % 7 === 3 ? 0.2 : 0)),
      commandsByTrigger: {
        cart_abandoned: index.map((i) => wave(i, 2.4, 1.1)),
        welcome_series: index.map((i) => wave(i, 1.2, 0.6, 1)),
        price_drop: index.map((i) => wave(i, 0.4, 0.3, 2)),
      },
      commandsByChannel: {
        sms: index.map((i) => wave(i, 1.6, 0.8)),
        email: index.map((i) => wave(i, 1.9, 0.7, 1)),
        push: index.map((i) => wave(i, 0.5, 0.4, 2)),
      },
      suppressionsByOutcome: {
        capped: index.map((i) => wave(i, 0.9, 0.5)),
        held_out: index.map((i) => wave(i, 0.5, 0.2, 1)),
        quiet_hours: index.map((i) => wave(i, 0.3, 0.3, 2)),
      },
    },
    lag: [
      { topic: 'touchpoints.raw', lag: 312 + 7 * n },
      { topic: 'identity.resolved', lag: 41 },
    ],
    segments: [
      { name: 'high_value', size: 1204 },
      { name: 'cart_openers', size: 388 },
      { name: 'new_customers', size: 2210 },
      { name: 'lapsed', size: 96 },
    ],
    lift: LIFT,
    totals: { commands: 5210 + n, decisions: 1930 + n, deadLetters: 4, merges: 77 },
    readiness: { ready: true, instances: 2, tasks: 24, restoring: 0, waiting: null },
    recent: { commands: recentCommands, decisions: [fatigueRefusal] },
  };
}

function triggerActivity(triggerId: string): TriggerActivity | undefined {
  const trigger = META.triggers.find((t) => t.id === triggerId);
  if (!trigger) return undefined;
  return {
    triggerId,
    description: trigger.description,
    commands: commands.filter((c) => c.triggerId === triggerId),
    decisions: [fatigueRefusal, heldOut].filter((d) => d.triggerId === triggerId),
    lift: LIFT.find((row) => row.triggerId === triggerId) ?? null,
  };
}

/** The page plugin and the fixture API on 127.0.0.1 (any free port). */
export async function startFixture(): Promise<{ app: FastifyInstance; url: string; livePolls: () => number }> {
  const app = Fastify({ logger: false });
  let polls = 0;
  await app.register(consoleAssets);
  await app.register(async (api) => {
    api.addHook('onRequest', async (request, reply) => {
      if (request.headers.authorization !== `Bearer ${TOKEN}`) await reply.code(401).send({ error: 'a valid bearer token is required' });
    });
    api.get('/api/console/meta', async () => META);
    api.get<{ Params: { type: string; value: string } }>('/api/console/lookup/:type/:value', async (request, reply) => {
      const { type, value } = request.params;
      if (type === 'phone' && value === PHONE) return { profileId: PROFILE_ID, identifierType: 'phone' } satisfies LookupAnswer;
      return reply.code(404).send({ error: `no profile with that ${type}` });
    });
    api.get<{ Params: { id: string } }>('/api/console/profiles/:id', async (request, reply) => {
      const profile = [PROFILE, MERGED].find((p) => p.profileId === request.params.id);
      return profile ?? reply.code(404).send({ error: `no profile ${request.params.id}` });
    });
    api.get<{ Params: { id: string } }>('/api/console/triggers/:id', async (request, reply) => {
      return triggerActivity(request.params.id) ?? reply.code(404).send({ error: `no trigger ${request.params.id}` });
    });
    api.get<{ Params: { name: string } }>('/api/console/segments/:name', async (request) => {
      const changes: SegmentActivity['changes'] = request.params.name === 'cart_openers' ? [{ profileId: PROFILE_ID, change: 'enter', at: T0 - 40 * MINUTE, reason: 'touchpoint' }] : [];
      return { name: request.params.name, size: changes.length ? 388 : 0, changes } satisfies SegmentActivity;
    });
    api.get('/api/console/live', async () => liveSnapshot(polls++));
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('the fixture server has no TCP address');
  return { app, url: `http://127.0.0.1:${address.port}`, livePolls: () => polls };
}
