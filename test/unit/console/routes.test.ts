import { join } from 'node:path';
import type { ProfileLocator } from '../../../api/profiles';
import { loadProductConfig } from '../../../config/product';
import { Activity } from '../../../console/activity';
import type { ConsoleProfile, LiveSnapshot, LookupAnswer, TriggerActivity } from '../../../console/model';
import { whatNext } from '../../../console/next';
import { consoleApi } from '../../../console/routes';
import { IdentifierHasher } from '../../../processors/identity/identifiers';
import { emptyProfile, type ProfileEntry } from '../../../processors/model/profile-state';
import { testHttpServer } from '../../support/http';

/**
 * The console's JSON API on a real HTTP server, over a profile store in
 * memory (the engine's store and the topic reading are the integration
 * test's, test/integration/console.test.ts): what each route answers, its
 * token, and that its answers are the schemas the OpenAPI document shows.
 */
const TOKEN = 'console-token';
const config = loadProductConfig(join(__dirname, '../../../config'));
const hasher = new IdentifierHasher(config.identity, 'test-secret');
const phoneKey = hasher.hash('phone', (hasher.normalise('phone', '087 100 0000') as { value: string }).value);

const person = emptyProfile('p-person', Date.parse('2026-03-02T10:00:00Z'));
person.lastSeen = Date.parse('2026-03-02T10:15:00Z');
person.identifiers = { phone: [phoneKey] };
person.consent = { 'email|marketing': { value: true, at: Date.parse('2026-01-03T09:00:00Z') } };
person.segments = { cart_abandoner: { since: Date.parse('2026-03-02T10:05:00Z') } };
person.journey = [
  { at: Date.parse('2026-03-02T10:00:00Z'), eventId: 'e1', channel: 'web', eventType: 'add_to_cart', category: 'shoes', path: '/cart' },
  { at: Date.parse('2026-03-02T10:15:00Z'), eventId: 'e2', channel: 'app', eventType: 'page_view', category: null, path: '/home' },
];
person.engagement.sent = [{ at: Date.parse('2026-03-02T10:10:00Z'), commandId: 'c-1', triggerId: 'cart_abandoned', channel: 'email', action: 'email', status: 'clicked' }];
const profiles = new Map<string, ProfileEntry>([
  ['p-person', person],
  ['p-old', { mergedInto: 'p-person', at: 1 }],
]);

const trace = (passed: boolean) => ({ rule: 'Cart left', causeEventIds: ['e1'], scores: {}, segments: [], checks: [{ check: 'fatigue' as const, passed, detail: passed ? '1 of 3 per 1d' : '3 of 3 per 1d' }] });

describe('the console API', () => {
  const activity = new Activity();
  activity.command({ commandId: 'c-1', profileId: 'p-person', triggerId: 'cart_abandoned', channel: 'email', action: 'email', contentRef: 'cart-reminder', priority: 50, createdAt: Date.parse('2026-03-02T10:10:00Z'), expiresAt: 0, trace: trace(true) }, 0);
  activity.decision({ decisionId: 'd-1', profileId: 'p-old', triggerId: 'cart_abandoned', outcome: 'capped', decidedAt: Date.parse('2026-03-01T09:00:00Z'), trace: trace(false) }, 0);
  activity.audit({ kind: 'merge', at: Date.parse('2026-03-01T12:00:00Z'), eventId: 'e0', profileId: 'p-person', otherProfileId: 'p-old', identifierType: null, detail: 'login linked them' });
  const locator: ProfileLocator = {
    topic: 'touchpoints.resolved',
    partitions: 1,
    localStore: () => ({ get: async (key) => profiles.get(key) }),
    identityGraph: () => ({ get: async (key) => (key === phoneKey ? 'p-old' : undefined) }),
    owner: async () => undefined,
  };
  /** One instance: the console API over `locator` and `activity`, on a real HTTP server. */
  const instance = (at: ProfileLocator, read: Activity, tasks: number) =>
    testHttpServer([
      consoleApi({ token: TOKEN, appId: 'lp-test', config, locator: at, hasher, activity: read, next: whatNext, readiness: async () => ({ ready: true, instances: 2, tasks, restoring: 0, waiting: null }) }),
    ]);
  let base = '';
  const server = instance(locator, activity, 8);
  // A second instance that owns no partition: it forwards a person's page and a lookup to the first.
  const elsewhere = instance({ ...locator, localStore: () => undefined, owner: async () => base.slice('http://'.length) }, new Activity(), 0);
  let other = '';
  beforeAll(async () => {
    base = `http://127.0.0.1:${(await server.start()).port}`;
    other = `http://127.0.0.1:${(await elsewhere.start()).port}`;
  });
  afterAll(async () => Promise.all([server.stop(), elsewhere.stop()]));
  const get = async <T>(path: string, token = TOKEN): Promise<{ status: number; body: T }> => {
    const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: response.status, body: (await response.json()) as T };
  };

  test('every route wants the token', async () => {
    for (const path of ['/api/console/meta', '/api/console/live', '/api/console/profiles/p-person', '/api/console/lookup/phone/1', '/api/console/triggers/x']) {
      expect({ path, status: (await get(path, 'wrong')).status }).toEqual({ path, status: 401 });
    }
  });

  test('meta names the identifier types and the triggers', async () => {
    const { body } = await get<{ appId: string; identifierTypes: string[]; triggers: { id: string }[] }>('/api/console/meta');
    expect(body.appId).toBe('lp-test');
    expect(body.identifierTypes).toEqual(expect.arrayContaining(['phone', 'email', 'customer_id']));
    expect(body.triggers.map((t) => t.id)).toEqual(expect.arrayContaining(['cart_abandoned', 'mortgage_calculator_repeat']));
  });

  test('a lookup by a phone number as said finds the person the identity graph names, past their merge pointer', async () => {
    expect(await get<LookupAnswer>(`/api/console/lookup/phone/${encodeURIComponent('087 100 0000')}`)).toEqual({ status: 200, body: { profileId: 'p-person', identifierType: 'phone' } });
    expect(await get(`/api/console/lookup/phone/${encodeURIComponent('087 999 9999')}`)).toEqual({ status: 404, body: { error: 'no one with that phone' } });
    expect((await get(`/api/console/lookup/phone/banana`)).status).toBe(400);
  });

  test("a person's page joins the profile with what the console read: command status and trace, a merged profile's decision, the merge", async () => {
    const { status, body } = await get<ConsoleProfile>('/api/console/profiles/p-person');
    expect(status).toBe(200);
    expect(body.journey.map((e) => e.eventId)).toEqual(['e2', 'e1']);
    expect(body.consent).toEqual([{ channel: 'email', purpose: 'marketing', granted: true, at: Date.parse('2026-01-03T09:00:00Z') }]);
    expect(body.segments).toEqual([{ name: 'cart_abandoner', since: Date.parse('2026-03-02T10:05:00Z') }]);
    expect(body.commands).toEqual([expect.objectContaining({ commandId: 'c-1', status: 'clicked', trace: trace(true) })]);
    expect(body.decisions).toEqual([expect.objectContaining({ decisionId: 'd-1', profileId: 'p-old', outcome: 'capped', trace: trace(false) })]);
    expect(body.merges).toEqual([{ at: Date.parse('2026-03-01T12:00:00Z'), eventId: 'e0', mergedProfileId: 'p-old', detail: 'login linked them' }]);
    expect(body.next.caps.find((c) => c.channel === null && c.per === '1d')).toEqual({ channel: null, max: 3, per: '1d', used: 1, left: 2 });
    expect(body.identifiers).toEqual([{ type: 'phone', hashes: [phoneKey] }]);
    expect((await get('/api/console/profiles/p-nobody')).status).toBe(404);
  });

  test("an instance that does not own the person forwards the page and the lookup to the one that does, which renders it with what it read", async () => {
    const page = await fetch(`${other}/api/console/profiles/p-old`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(page.headers.get('x-lp-served-by')).toBe(base.slice('http://'.length));
    const body = (await page.json()) as ConsoleProfile;
    expect({ profileId: body.profileId, decisions: body.decisions.map((d) => d.decisionId) }).toEqual({ profileId: 'p-person', decisions: ['d-1'] });
    const lookup = await fetch(`${other}/api/console/lookup/phone/${encodeURIComponent('087 100 0000')}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect({ status: lookup.status, body: await lookup.json() }).toEqual({ status: 200, body: { profileId: 'p-person', identifierType: 'phone' } });
  });

  test('live and a trigger drill-down answer the roll-up', async () => {
    const live = await get<LiveSnapshot>('/api/console/live');
    expect(live.body.readiness).toEqual({ ready: true, instances: 2, tasks: 8, restoring: 0, waiting: null });
    expect(live.body.totals).toEqual({ commands: 1, decisions: 1, deadLetters: 0, merges: 1 });
    expect(live.body.recent.decisions.map((d) => d.decisionId)).toEqual(['d-1']);
    const drill = await get<TriggerActivity>('/api/console/triggers/cart_abandoned');
    expect(drill.body.description).toMatch(/./);
    expect(drill.body.commands.map((c) => c.commandId)).toEqual(['c-1']);
  });

  test('/openapi.json documents the console routes with their answers', async () => {
    const document = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, { get: { responses: Record<string, { content?: Record<string, { schema: { properties?: Record<string, unknown> } }> }> } }> };
    for (const path of ['/api/console/meta', '/api/console/lookup/{type}/{value}', '/api/console/profiles/{profileId}', '/api/console/live', '/api/console/triggers/{triggerId}']) {
      expect({ path, documented: path in document.paths }).toEqual({ path, documented: true });
    }
    const page = document.paths['/api/console/profiles/{profileId}']!.get.responses['200']!.content!['application/json']!.schema;
    expect(Object.keys(page.properties ?? {})).toEqual(expect.arrayContaining(['journey', 'commands', 'decisions', 'merges', 'next']));
  });
});
