import { parseConfigFile } from '../../../config/load';
import { identityFile } from '../../../processors/identity/config';
import type { IdentityAudit } from '../../../processors/identity/audit';
import { identitySecret, profileIdFor } from '../../../processors/identity/identifiers';
import type { ProfileEvent } from '../../../processors/model/profile-event';
import type { InProcessEngine } from '../../../runtime/in-process-engine';
import { ConfigError } from '../../../runtime/errors';
import { DLQ_HEADERS } from '../../../runtime/records';
import { DAY, HOUR, MINUTE, T0, identifierKey, productConfig, productDriver, tp } from '../../support/product';

/** The canonical profile of an identifier according to the identity graph every instance reads. */
async function profileOf(driver: InProcessEngine, type: string, raw: string): Promise<string> {
  const key = identifierKey(type, raw);
  return (await driver.globalTable<string>('identity-graph').get(key)) ?? profileIdFor(key);
}

function resolved(driver: InProcessEngine): ProfileEvent[] {
  return driver.output<string, ProfileEvent>('touchpoints.resolved').map((o) => o.value!);
}

/** Where a profile's state ends up: follows merge instructions to the winner. */
function finalProfile(driver: InProcessEngine, profile: string): string {
  const merges = new Map(
    resolved(driver)
      .filter((e) => e.body.kind === 'merge')
      .map((e) => [(e.body as { loser: string }).loser, (e.body as { winner: string }).winner]),
  );
  let current = profile;
  while (merges.has(current)) current = merges.get(current)!;
  return current;
}

function pipe(driver: InProcessEngine, t: ReturnType<typeof tp>, partition?: number): void {
  driver.pipe('touchpoints.raw', Buffer.from(t.identifiers[0]?.value ?? 'none'), t, { timestamp: t.occurredAt, partition });
}

describe('identity resolution', () => {
  it('turns a journey across web, app, online banking, ATM and call centre into one profile', async () => {
    const driver = await productDriver();
    const journey = [
      tp(T0, 'web', 'page_view', { anonymous_id: 'cookie-1', device_id: 'laptop-1' }),
      tp(T0 + MINUTE, 'web', 'page_view', { anonymous_id: 'cookie-1' }),
      tp(T0 + HOUR, 'app', 'login', { customer_id: 'C-100', device_id: 'phone-1', email: ' Ann.Lee@Example.COM ' }, { authenticated: true }),
      tp(T0 + 2 * HOUR, 'web', 'login', { customer_id: 'C-100', anonymous_id: 'cookie-1', device_id: 'laptop-1' }, { authenticated: true }),
      tp(T0 + DAY, 'online_banking', 'bill_payment', { customer_id: 'C-100', card_token: 'tok-9' }, { authenticated: true }),
      tp(T0 + 2 * DAY, 'atm', 'withdrawal', { card_token: 'tok-9' }),
      tp(T0 + 3 * DAY, 'call_centre', 'call', { customer_id: 'C-100', phone: '087 123 4567' }, { authenticated: true }),
      tp(T0 + 4 * DAY, 'email', 'email_open', { email: 'ann.lee@example.com' }),
    ];
    journey.forEach((t) => pipe(driver, t));
    await driver.run();

    const ids: [string, string][] = [
      ['anonymous_id', 'cookie-1'],
      ['device_id', 'laptop-1'],
      ['customer_id', 'C-100'],
      ['device_id', 'phone-1'],
      ['email', 'ann.lee@example.com'],
      ['card_token', 'tok-9'],
      ['phone', '+353871234567'],
    ];
    const profiles = await Promise.all(ids.map(([type, raw]) => profileOf(driver, type, raw)));
    expect(new Set(profiles).size).toBe(1);

    // Every touchpoint reached that profile, directly or through a merge of the profile it first went to.
    // A touchpoint that reached a merged-away profile was re-addressed: it is on touchpoints.resolved twice.
    const touchpoints = resolved(driver).filter((e) => e.body.kind === 'touchpoint');
    expect(new Set(touchpoints.map((e) => (e.body as { touchpoint: { eventId: string } }).touchpoint.eventId)).size).toBe(journey.length);
    expect(new Set(touchpoints.map((e) => finalProfile(driver, e.profileId)))).toEqual(new Set([profiles[0]]));
    // No raw PII past ingest.
    const bytes = Buffer.concat(driver.producedRecords.map((r) => r.value ?? Buffer.alloc(0))).toString('latin1');
    expect(bytes).not.toMatch(/ann\.lee|Example|087 123|353871234567|C-100/i);
  });

  it('writes nothing to the identity stores for a returning person whose identifiers are all linked already', async () => {
    const driver = await productDriver();
    const login = (at: number) => tp(at, 'app', 'login', { customer_id: 'C-7', device_id: 'phone-7' }, { authenticated: true });
    pipe(driver, login(T0));
    await driver.run();
    const identityChangelog = () => driver.producedRecords.filter((r) => r.topic.endsWith('-identifiers-changelog') || r.topic.endsWith('-profile-directory-changelog')).length;
    const written = identityChangelog();
    expect(written).toBeGreaterThan(0);
    pipe(driver, login(T0 + DAY));
    await driver.run();
    expect(identityChangelog()).toBe(written);
    const touchpoints = resolved(driver).filter((e) => e.body.kind === 'touchpoint');
    expect(touchpoints.map((e) => e.profileId)).toEqual([touchpoints[0]!.profileId, touchpoints[0]!.profileId]);
    // a new identifier still links, and writes only what it changes
    pipe(driver, tp(T0 + 2 * DAY, 'app', 'login', { customer_id: 'C-7', device_id: 'tablet-7' }, { authenticated: true }));
    await driver.run();
    expect(await profileOf(driver, 'device_id', 'tablet-7')).toBe(await profileOf(driver, 'customer_id', 'C-7'));
  });

  it('sends a trusted login to the link log only if it could change the graph: a returning person\'s is resolved at ingest', async () => {
    const driver = await productDriver();
    const login = (at: number, device: string) => tp(at, 'app', 'login', { customer_id: 'C-8', device_id: device }, { authenticated: true });
    const linkLog = () => driver.producedRecords.filter((r) => r.topic === 'identity.links').length;
    pipe(driver, login(T0, 'phone-8'));
    await driver.run();
    expect(linkLog()).toBe(1);
    pipe(driver, login(T0 + DAY, 'phone-8'));
    await driver.run();
    expect(linkLog()).toBe(1); // all known, one profile: nothing for the link task to do
    pipe(driver, login(T0 + 2 * DAY, 'tablet-8'));
    pipe(driver, tp(T0 + 3 * DAY, 'web', 'login', { customer_id: 'C-9', anonymous_id: 'cookie-9' }, { authenticated: true }));
    await driver.run();
    expect(linkLog()).toBe(3); // a new identifier, a new person
    const profile = await profileOf(driver, 'customer_id', 'C-8');
    const touchpoints = resolved(driver).filter((e) => e.body.kind === 'touchpoint' && e.profileId === profile);
    expect(touchpoints).toHaveLength(3);
  });

  it('converges to the same graph whatever order the links arrive in', async () => {
    const links = [
      tp(T0, 'app', 'login', { customer_id: 'C-1', device_id: 'd-1' }, { authenticated: true }),
      tp(T0 + MINUTE, 'web', 'login', { customer_id: 'C-1', anonymous_id: 'a-1' }, { authenticated: true }),
      tp(T0 + 2 * MINUTE, 'web', 'login', { email: 'x@y.com', anonymous_id: 'a-1' }, { authenticated: true }),
      tp(T0 + 3 * MINUTE, 'app', 'login', { email: 'x@y.com', device_id: 'd-2' }, { authenticated: true }),
    ];
    const clusterings: string[][] = [];
    for (const order of [[0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1]]) {
      const driver = await productDriver();
      order.forEach((i, n) => pipe(driver, links[i]!, n % 4));
      await driver.run();
      const profiles = await Promise.all(
        [['customer_id', 'C-1'], ['device_id', 'd-1'], ['anonymous_id', 'a-1'], ['email', 'x@y.com'], ['device_id', 'd-2']].map(([t, v]) => profileOf(driver, t!, v!)),
      );
      expect(new Set(profiles).size).toBe(1);
      clusterings.push(profiles);
    }
    // The older profile wins: the same canonical id in every order.
    expect(new Set(clusterings.map((c) => c[0])).size).toBe(1);
  });

  it('lets two merges racing from both sides of one pair converge on one canonical id', async () => {
    const driver = await productDriver();
    // Two profiles exist, each known by one identifier...
    pipe(driver, tp(T0, 'app', 'login', { customer_id: 'C-7', device_id: 'tab-7' }, { authenticated: true }));
    pipe(driver, tp(T0 + MINUTE, 'web', 'login', { email: 'p@q.com', anonymous_id: 'an-7' }, { authenticated: true }));
    await driver.run();
    const mergesBefore = resolved(driver).filter((e) => e.body.kind === 'merge').length;
    // ...then both sides link them at once, from different partitions, naming the pair in opposite orders.
    pipe(driver, tp(T0 + HOUR, 'app', 'login', { customer_id: 'C-7', email: 'p@q.com' }, { authenticated: true }), 0);
    pipe(driver, tp(T0 + HOUR, 'web', 'login', { email: 'p@q.com', device_id: 'tab-7', anonymous_id: 'an-7' }, { authenticated: true }), 3);
    await driver.run();
    const profiles = await Promise.all([['customer_id', 'C-7'], ['device_id', 'tab-7'], ['email', 'p@q.com'], ['anonymous_id', 'an-7']].map(([t, v]) => profileOf(driver, t!, v!)));
    expect(new Set(profiles).size).toBe(1);
    const merges = resolved(driver).filter((e) => e.body.kind === 'merge');
    expect(merges).toHaveLength(mergesBefore + 1);
  });

  it('merges a profile once when several identifiers of the event belong to it', async () => {
    const driver = await productDriver();
    pipe(driver, tp(T0, 'app', 'login', { customer_id: 'M-1', device_id: 'm-dev' }, { authenticated: true }));
    pipe(driver, tp(T0 + MINUTE, 'web', 'login', { email: 'm@x.io', anonymous_id: 'm-anon', phone: '+353870000001' }, { authenticated: true }));
    await driver.run();
    const before = resolved(driver).filter((e) => e.body.kind === 'merge').length;
    pipe(driver, tp(T0 + HOUR, 'web', 'login', { customer_id: 'M-1', email: 'm@x.io', anonymous_id: 'm-anon', phone: '+353870000001' }, { authenticated: true }));
    await driver.run();
    const merges = resolved(driver).filter((e) => e.body.kind === 'merge').slice(before).map((e) => e.body as { loser: string; winner: string });
    expect(merges).toHaveLength(1);
    expect(merges[0]!.loser).not.toBe(merges[0]!.winner);
    const profiles = await Promise.all([['customer_id', 'M-1'], ['email', 'm@x.io'], ['anonymous_id', 'm-anon'], ['phone', '+353870000001'], ['device_id', 'm-dev']].map(([t, v]) => profileOf(driver, t!, v!)));
    expect(new Set(profiles).size).toBe(1);
  });

  it('does not merge two logged-in customers who share a tablet, and records the conflict', async () => {
    const driver = await productDriver();
    pipe(driver, tp(T0, 'app', 'login', { customer_id: 'Alice', device_id: 'family-tablet' }, { authenticated: true }));
    pipe(driver, tp(T0 + HOUR, 'app', 'login', { customer_id: 'Bob', device_id: 'family-tablet' }, { authenticated: true }));
    await driver.run();
    expect(await profileOf(driver, 'customer_id', 'Alice')).not.toBe(await profileOf(driver, 'customer_id', 'Bob'));
    const audits = driver.output<string, IdentityAudit>('identity.audit').map((o) => o.value!);
    expect(audits).toContainEqual(expect.objectContaining({ kind: 'conflict', identifierType: 'device_id' }));
    // Bob's touchpoint still counts for Bob.
    const bobs = resolved(driver).filter((e) => e.body.kind === 'touchpoint').at(-1)!;
    expect(bobs.profileId).toBe(await profileOf(driver, 'customer_id', 'Bob'));
  });

  it('refuses a link beyond the per-type limit', async () => {
    const driver = await productDriver();
    for (let d = 1; d <= 6; d++) pipe(driver, tp(T0 + d * MINUTE, 'app', 'login', { customer_id: 'Many', device_id: `dev-${d}` }, { authenticated: true }));
    await driver.run();
    const owner = await profileOf(driver, 'customer_id', 'Many');
    expect(await profileOf(driver, 'device_id', 'dev-5')).toBe(owner);
    expect(await profileOf(driver, 'device_id', 'dev-6')).not.toBe(owner);
    expect(driver.output<string, IdentityAudit>('identity.audit').map((o) => o.value!.kind)).toContain('limit');
  });

  it('never links through blocked values', async () => {
    const driver = await productDriver();
    for (const [customer, junk] of [['K-1', 'null'], ['K-2', 'NULL '], ['K-3', '00000000-0000-0000-0000-000000000000'], ['K-4', 'anonymous'], ['K-5', 'guest']]) {
      pipe(driver, tp(T0, 'web', 'login', { customer_id: customer!, anonymous_id: junk! }, { authenticated: true }));
    }
    await driver.run();
    const profiles = await Promise.all(['K-1', 'K-2', 'K-3', 'K-4', 'K-5'].map((c) => profileOf(driver, 'customer_id', c)));
    expect(new Set(profiles).size).toBe(5);
    expect(resolved(driver).filter((e) => e.body.kind === 'merge')).toHaveLength(0);
    const counted = (await driver.metrics.domainEvents.get()).values.find((v) => v.labels.event === 'identifier-rejected');
    expect(counted?.value).toBe(5);
  });

  it('drops an identifier that is too long or not valid UTF-8, audits it without its value, and keeps the touchpoint', async () => {
    const driver = await productDriver();
    const long = 'd'.repeat(9000);
    pipe(driver, tp(T0, 'app', 'page_view', { customer_id: 'L-1', device_id: long }));
    pipe(driver, tp(T0, 'app', 'page_view', { customer_id: 'L-2', anonymous_id: 'cookie-\uFFFD' }));
    await driver.run();
    expect(resolved(driver)).toHaveLength(2);
    expect(resolved(driver).map((e) => (e.body as { touchpoint: { identifiers: unknown[] } }).touchpoint.identifiers)).toEqual([
      [{ type: 'customer_id', value: identifierKey('customer_id', 'L-1') }],
      [{ type: 'customer_id', value: identifierKey('customer_id', 'L-2') }],
    ]);
    const audits = driver.output<string, IdentityAudit>('identity.audit').map((o) => o.value!);
    expect(audits.map((a) => [a.kind, a.identifierType])).toEqual([
      ['identifier-rejected', 'device_id'],
      ['identifier-rejected', 'anonymous_id'],
    ]);
    expect(audits[0]!.detail).toMatch(/9000 characters, more than input.maxIdentifierLength \(256\)/);
    expect(audits[1]!.detail).toMatch(/not valid UTF-8/);
    expect(JSON.stringify(audits)).not.toContain(long);
  });

  it('dead-letters a touchpoint with an oversized string or too many attributes, naming the field', async () => {
    const driver = await productDriver();
    pipe(driver, tp(T0, 'web', 'search', { anonymous_id: 'c-1' }, { searchTerms: 's'.repeat(200_000) }));
    pipe(driver, tp(T0, 'web', 'page_view', { anonymous_id: 'c-2' }, { attributes: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`a${i}`, 'v'])) }));
    pipe(driver, tp(T0, 'web', 'page_view', { anonymous_id: 'c-3' }, { attributes: { campaign: 'spring\uFFFD' } }));
    pipe(driver, tp(T0, 'web', 'page_view', { anonymous_id: 'c-4' }, { attributes: { ['c'.repeat(5000)]: 'v' } }));
    await driver.run();
    const dlq = driver.output('touchpoints.raw.dlq');
    expect(dlq.map((d) => d.headers[DLQ_HEADERS.message]).sort()).toEqual([
      'attributes has 65 entries, more than input.maxAttributes (64)',
      'attributes.campaign is not valid UTF-8',
      // the reason header is cut at 2,000 characters, here inside the key it names
      `attributes.${'c'.repeat(5000)} (key) is 5000 characters, more than input.maxStringLength (4096)`.slice(0, 2000),
      'searchTerms is 200000 characters, more than input.maxStringLength (4096)',
    ]);
    expect(resolved(driver)).toHaveLength(0);
  });

  it('does not let an untrusted event merge two known profiles', async () => {
    const driver = await productDriver();
    pipe(driver, tp(T0, 'app', 'login', { customer_id: 'U-1', device_id: 'du-1' }, { authenticated: true }));
    pipe(driver, tp(T0, 'app', 'login', { customer_id: 'U-2', device_id: 'du-2' }, { authenticated: true }));
    await driver.run();
    pipe(driver, tp(T0 + HOUR, 'web', 'page_view', { device_id: 'du-1', anonymous_id: 'x' }));
    pipe(driver, tp(T0 + 2 * HOUR, 'web', 'page_view', { device_id: 'du-2', customer_id: 'U-1' }));
    await driver.run();
    expect(await profileOf(driver, 'customer_id', 'U-1')).not.toBe(await profileOf(driver, 'customer_id', 'U-2'));
    expect(driver.output<string, IdentityAudit>('identity.audit').map((o) => o.value!.kind)).toContain('untrusted');
  });

  it('erases a person: identifiers leave the graph and every profile of theirs is told to delete', async () => {
    const driver = await productDriver();
    pipe(driver, tp(T0, 'web', 'page_view', { anonymous_id: 'er-a' }));
    pipe(driver, tp(T0 + MINUTE, 'web', 'login', { customer_id: 'ER-1', anonymous_id: 'er-a', email: 'er@x.io' }, { authenticated: true }));
    await driver.run();
    const owner = await profileOf(driver, 'customer_id', 'ER-1');
    pipe(driver, tp(T0 + DAY, 'web', 'erasure_requested', { customer_id: 'ER-1' }));
    await driver.run();
    const graph = driver.globalTable<string>('identity-graph');
    for (const [type, raw] of [['customer_id', 'ER-1'], ['anonymous_id', 'er-a'], ['email', 'er@x.io']]) {
      expect(await graph.get(identifierKey(type!, raw!))).toBeUndefined();
    }
    const erased = resolved(driver).filter((e) => e.body.kind === 'erase').map((e) => e.profileId);
    expect(erased).toContain(owner);
    const mergedAway = resolved(driver).filter((e) => e.body.kind === 'merge').map((e) => (e.body as { loser: string }).loser);
    for (const loser of mergedAway) expect(erased).toContain(loser);
    const changelogTombstones = driver.producedRecords.filter((r) => r.topic === 'lp-test-identifiers-changelog' && r.value === null);
    expect(changelogTombstones.length).toBeGreaterThanOrEqual(3);
  });

  it('sends invalid touchpoints to the dead-letter topic with a reason', async () => {
    const driver = await productDriver();
    pipe(driver, tp(T0, 'web', 'page_view', { anonymous_id: 'null' }));
    pipe(driver, tp(T0, 'Web Site', 'page_view', { anonymous_id: 'ok-1' }));
    pipe(driver, tp(12345, 'web', 'page_view', { anonymous_id: 'ok-2' }));
    driver.pipeRaw('touchpoints.raw', null, Buffer.from('not avro'));
    pipe(driver, tp(T0, 'web', 'page_view', { anonymous_id: 'fine' }));
    await driver.run();
    const dlq = driver.output('touchpoints.raw.dlq');
    expect(dlq.map((o) => o.headers[DLQ_HEADERS.kind])).toEqual(['invalid-record', 'invalid-record', 'invalid-record', 'not-avro-wire-format']);
    expect(dlq[0]!.headers[DLQ_HEADERS.message]).toMatch(/no usable identifier \(anonymous_id: blocked value/);
    expect(dlq[1]!.headers[DLQ_HEADERS.message]).toMatch(/channel 'Web Site'/);
    expect(dlq[2]!.headers[DLQ_HEADERS.message]).toMatch(/occurredAt 12345/);
    expect(resolved(driver)).toHaveLength(1);
  });

  it('names the file, path and line of a bad identity config', () => {
    const text = 'hashing:\n  secretEnv: X\n  developmentSecret: 0123456789abcdef\ndefaultPhoneRegion: IE\ntypeStrength: [customer_id]\nuniqueTypes: [customer_id]\nlimits:\n  device_id: 5\ntrust:\n  linkEventTypes: [login]\n  linkChannels: [web]\n  requireAuthenticated: true\ninput:\n  maxIdentifierLength: 256\n  maxStringLength: 4096\n  maxAttributes: 64\nblocked:\n  values: []\n  patterns: []\n';
    expect(() => parseConfigFile(identityFile, 'identity.yaml', text, undefined)).toThrow("identity.yaml: limits.device_id (line 8): 'device_id' is not listed in typeStrength");
    expect(() => parseConfigFile(identityFile, 'identity.yaml', text.replace('requireAuthenticated: true', 'requireAuthenticated: yes please'), undefined)).toThrow(
      /identity\.yaml: trust\.requireAuthenticated \(line 12\): must be boolean/,
    );
  });

  it('refuses to hash without a secret in production, naming the variable (a config error: one line, no stack)', () => {
    const identity = productConfig().identity;
    const refusal = () => identitySecret(identity, { NODE_ENV: 'production' });
    expect(refusal).toThrow(ConfigError);
    expect(refusal).toThrow(`environment: ${identity.hashing.secretEnv}: not set`);
    expect(identitySecret(identity, { NODE_ENV: 'production', [identity.hashing.secretEnv]: 's3cret' })).toBe('s3cret');
    expect(identitySecret(identity, {})).toBe(identity.hashing.developmentSecret);
  });
});
