import { join } from 'node:path';
import { Registry } from 'prom-client';
import { profileApi } from '../../../api/profile-api';
import type { ProfileLocator } from '../../../api/profiles';
import { loadConfigFile } from '../../../config/load';
import { identityFile } from '../../../processors/identity/config';
import { IdentifierHasher } from '../../../processors/identity/identifiers';
import { emptyProfile, type ProfileEntry } from '../../../processors/model/profile-state';
import { HttpServer } from '../../../runtime/http';
import { partitionForKey } from '../../../runtime/kafka/partitioner';

const TOKEN = 'secret-token';
const hasher = new IdentifierHasher(loadConfigFile(identityFile, join(__dirname, '../../../config/identity.yaml'), undefined), 'test-secret');
const PARTITIONS = 4;

/** Two instances; each owns the partitions `owns` says, and knows where the others are. */
function instance(owns: (partition: number) => boolean, profiles: Map<string, ProfileEntry>, graph: Map<string, string>, elsewhere: () => string) {
  const locator: ProfileLocator = {
    topic: 'touchpoints.resolved',
    partitions: PARTITIONS,
    localStore: (partition) => (owns(partition) ? { get: async (key) => profiles.get(key) } : undefined),
    identityGraph: () => ({ get: async (key) => graph.get(key) }),
    owner: async () => elsewhere(),
  };
  let healthy = true;
  const server = new HttpServer({
    host: '127.0.0.1',
    port: 0,
    registry: new Registry(),
    healthy: () => ({ healthy, detail: { tasks: 1 } }),
    ready: () => ({ ready: true, detail: {} }),
    plugins: [profileApi({ token: TOKEN, locator, hasher, render: (state) => ({ profileId: state.id, lastSeen: state.lastSeen }) })],
  });
  return { server, setHealthy: (value: boolean) => (healthy = value) };
}

/** A profile id whose partition is `partition`. */
function idIn(partition: number, prefix: string): string {
  for (let i = 0; ; i++) if (partitionForKey(Buffer.from(`${prefix}${i}`), PARTITIONS) === partition) return `${prefix}${i}`;
}

describe('the profile API on the HTTP server', () => {
  const local = idIn(0, 'p-local-');
  const remote = idIn(1, 'p-remote-');
  const loser = idIn(0, 'p-loser-');
  const phoneKey = hasher.hash('phone', (hasher.normalise('phone', '087 100 0000') as { value: string }).value);
  const profiles = new Map<string, ProfileEntry>([
    [local, emptyProfile(local, 1_000)],
    [remote, emptyProfile(remote, 2_000)],
    [loser, { mergedInto: local, at: 1_500 }],
  ]);
  const graph = new Map([[phoneKey, local]]);
  let a: ReturnType<typeof instance>;
  let b: ReturnType<typeof instance>;
  let urlA = '';
  let urlB = '';

  beforeAll(async () => {
    a = instance((p) => p === 0, profiles, graph, () => urlB.slice('http://'.length));
    b = instance((p) => p !== 0, profiles, graph, () => urlA.slice('http://'.length));
    const [addressA, addressB] = await Promise.all([a.server.start(), b.server.start()]);
    urlA = `http://127.0.0.1:${addressA.port}`;
    urlB = `http://127.0.0.1:${addressB.port}`;
  });
  afterAll(async () => Promise.all([a.server.stop(), b.server.stop()]));

  const get = (url: string, token: string | null = TOKEN) => fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  test('refuses a request without the token, or with another one', async () => {
    for (const token of [null, 'secret-tokem', 'short']) {
      const response = await get(`${urlA}/profiles/${local}`, token);
      expect({ token, status: response.status, body: await response.json() }).toEqual({ token, status: 401, body: { error: 'a valid bearer token is required' } });
    }
  });

  test('answers a local profile, and follows a merge pointer to the winner', async () => {
    expect(await (await get(`${urlA}/profiles/${local}`)).json()).toEqual({ profileId: local, lastSeen: 1_000 });
    expect(await (await get(`${urlA}/profiles/${loser}`)).json()).toEqual({ profileId: local, lastSeen: 1_000 });
  });

  test('finds a person by a phone number as the channel wrote it, hashed like ingest', async () => {
    const response = await get(`${urlA}/profiles/by-identifier/phone/${encodeURIComponent('+353 87 100 0000')}`);
    expect(await response.json()).toEqual({ profileId: local, lastSeen: 1_000 });
    const bad = await get(`${urlA}/profiles/by-identifier/phone/not-a-phone`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/^phone: /);
  });

  test('forwards a profile another instance owns there, once, and says who answered', async () => {
    const response = await get(`${urlA}/profiles/${remote}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-lp-served-by')).toBe(urlB.slice('http://'.length));
    expect(await response.json()).toEqual({ profileId: remote, lastSeen: 2_000 });
  });

  test('a profile no one has is 404 with the id, an unknown path 404 in the same shape', async () => {
    const missing = idIn(0, 'p-missing-');
    const response = await get(`${urlA}/profiles/${missing}`);
    expect({ status: response.status, body: await response.json() }).toEqual({ status: 404, body: { error: 'no such profile', profileId: missing } });
    const unknown = await get(`${urlA}/nothing/here`);
    expect({ status: unknown.status, body: await unknown.json() }).toEqual({ status: 404, body: { error: 'no route for GET /nothing/here' } });
  });

  test('health answers 503 with its detail when the engine is not healthy', async () => {
    a.setHealthy(false);
    const response = await get(`${urlA}/healthz`, null);
    a.setHealthy(true);
    expect({ status: response.status, body: await response.json() }).toEqual({ status: 503, body: { healthy: false, tasks: 1 } });
  });

  test('/openapi.json documents the profile routes behind the bearer token', async () => {
    const document = (await (await get(`${urlA}/openapi.json`, null)).json()) as {
      openapi: string;
      paths: Record<string, { get: { security?: unknown } }>;
      components: { securitySchemes: Record<string, unknown> };
    };
    expect(document.openapi).toMatch(/^3\./);
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/profiles/{profileId}', '/profiles/by-identifier/{type}/{value}', '/healthz', '/readyz']));
    expect(document.paths['/profiles/{profileId}']!.get.security).toEqual([{ bearer: [] }]);
    expect(document.components.securitySchemes.bearer).toEqual({ type: 'http', scheme: 'bearer' });
    expect(document.paths['/metrics']).toBeUndefined();
  });
});
