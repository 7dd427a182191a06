import { loadConfigFile } from '../../../config/load';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { identityFile } from '../../../processors/identity/config';
import { IdentifierHasher } from '../../../processors/identity/identifiers';
import type { Touchpoint } from '../../../processors/model/touchpoint';
import { touchpoint } from '../../../processors/model/touchpoint';
import { combineResults, NeedleMatcher, piiNeedles, scanFiles, scanStateDir, type Needle } from '../../../proof/privacy';
import { SchemaCatalog } from '../../../runtime/serde/schema-catalog';
import { RocksBacking } from '../../../runtime/state/rocks-backing';
import { groundTruth } from '../../../simulator/truth';
import { simulate } from '../simulator/support';
import { truthPerson } from '../../support/truth';

const ROOT = join(__dirname, '..', '..', '..');
const hasher = new IdentifierHasher(loadConfigFile(identityFile, join(ROOT, 'config', 'identity.yaml'), undefined), 'test-secret');
const catalog = SchemaCatalog.load(join(ROOT, 'schemas'));
const touchpointType = catalog.type('Touchpoint');
const identifierType = catalog.type('Identifier');

const ANN = { email: 'ann.walsh.k3x9q1@example.ie', phone: '+353871234567', customer: 'BK3X9-000004217' };
const BOB = { email: 'bob.byrne.k3x9q2@mail.example.com', phone: '+447712345678' };
const CAT = { phone: '+12125551234', customer: 'RK3X9-000009931' };

const person = truthPerson;

const truth = {
  persons: [
    person('ann', [['email', ANN.email], ['phone', ANN.phone], ['customer_id', ANN.customer], ['anonymous_id', '6f1c2d4e-0b7a-4c52-9d3e-2a8f1b6c7d90']]),
    person('bob', [['email', BOB.email], ['phone', BOB.phone], ['device_id', 'A1B2C3D4-E5F6-4711-8899-AABBCCDDEEFF']]),
    person('cat', [['phone', CAT.phone], ['customer_id', CAT.customer]]),
  ],
};
const needles = piiNeedles(truth);
const matcher = new NeedleMatcher(needles);

/** What the ingest leaves of an identifier: its keyed hash. */
function hashed(type: string, value: string): string {
  const normalised = hasher.normalise(type, value);
  if (!normalised.ok) throw new Error(`${type} ${value}: ${normalised.reason}`);
  return hasher.hash(type, normalised.value);
}

function avroTouchpoint(fields: Partial<Touchpoint>): Buffer {
  return touchpointType.toBuffer(touchpoint({ eventId: 'k3x9.0.1.c', occurredAt: Date.UTC(2025, 2, 3, 9), channel: 'web', eventType: 'page_view', ...fields }));
}

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lp-privacy-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('piiNeedles', () => {
  const valuesOf = (identifier: string) => needles.filter((n) => n.identifier === identifier).map((n) => n.value).sort();

  it('spells each e-mail, phone and customer id the way channels and URLs do, and leaves cookies and devices out', () => {
    expect(valuesOf(ANN.email)).toEqual([ANN.email, 'ann.walsh.k3x9q1%40example.ie'].sort());
    expect(valuesOf(ANN.phone)).toEqual(['+353 87 123 4567', '+353871234567', '087 123 4567', '0871234567', '353871234567']);
    expect(valuesOf(BOB.phone)).toEqual(['+44 7712 345678', '+447712345678', '07712 345678', '07712345678', '447712345678']);
    // no bare ten-digit US national number: such digits occur inside timestamps
    expect(valuesOf(CAT.phone)).toEqual(['(212) 555-1234', '+1 212 555 1234', '+12125551234', '12125551234']);
    expect(valuesOf(CAT.customer)).toEqual([CAT.customer]);
    expect(new Set(needles.map((n) => n.kind))).toEqual(new Set(['email', 'phone', 'customer_id']));
    expect(needles.some((n) => /anonymous|device/.test(n.kind) || n.value.includes('6f1c2d4e') || n.value.includes('A1B2C3D4'))).toBe(false);
    expect(needles.find((n) => n.value === '0871234567')).toEqual({ kind: 'phone', value: '0871234567', identifier: ANN.phone, person: 'ann' });
  });

  it('finds every raw spelling the simulator sends, inside each Avro-encoded touchpoint, and nothing once identifiers are hashed', () => {
    const sim = simulate(11, 300, 10);
    const real = piiNeedles(groundTruth(sim.population, sim.generator));
    const realMatcher = new NeedleMatcher(real);
    const known = new Set(real.map((n) => n.identifier));
    const mismatches: string[] = [];
    const spelled = new Set<string>();
    let expectedTotal = 0;
    let hashedBytes = 0;
    let hashedHits = 0;
    for (const event of sim.events) {
      const expected = new Set<string>();
      for (const { type, value } of event.identifiers) {
        const normalised = hasher.normalise(type, value);
        if (!normalised.ok || !known.has(normalised.value)) continue;
        expected.add(normalised.value);
        if (value !== normalised.value) spelled.add(`${type}:${value}`);
      }
      expectedTotal += expected.size;
      const found = new Set(realMatcher.find(touchpointType.toBuffer(event)).map((m) => m.needle.identifier));
      if ([...expected].sort().join() !== [...found].sort().join()) mismatches.push(`${event.eventId}: expected ${[...expected]} found ${[...found]}`);
      const ingested = touchpointType.toBuffer({ ...event, identifiers: hasher.prepare(event.identifiers).accepted });
      hashedBytes += ingested.length;
      hashedHits += realMatcher.find(ingested).length;
    }
    expect(mismatches).toEqual([]);
    expect(expectedTotal).toBeGreaterThan(300);
    // the run did send raw spellings: national phone numbers, spaced ones, e-mails in other cases or with spaces
    expect([...spelled].some((s) => /^phone:0\d/.test(s))).toBe(true);
    expect([...spelled].some((s) => /^phone:\+\d+ /.test(s))).toBe(true);
    expect([...spelled].some((s) => /^email:.*[A-Z]/.test(s))).toBe(true);
    expect([...spelled].some((s) => /^email:\s|^email:.*\s$/.test(s))).toBe(true);
    expect(hashedBytes).toBeGreaterThan(100_000);
    expect(hashedHits).toBe(0);
  });
});

describe('NeedleMatcher', () => {
  it('finds needles ignoring case, back to back, and one that starts inside a near miss, with the offset of their first byte', () => {
    // "bob.Bob.B": the near miss "bob.b" must fall back to "b", not to nothing
    const text = `<<${ANN.email.toUpperCase()}0871234567|bob.Bob.Byrne.K3x9q2@Mail.Example.Com>>`;
    expect(matcher.find(Buffer.from(text)).map((m) => [m.needle.value, m.offset])).toEqual([
      [ANN.email, 2],
      ['0871234567', 2 + ANN.email.length],
      [BOB.email, 2 + ANN.email.length + 11 + 4],
    ]);
  });

  it('reports the longest needle ending at a position once, not also the needles inside it', () => {
    expect(matcher.find(Buffer.from(`tel:${ANN.phone};`)).map((m) => m.needle.value)).toEqual([ANN.phone]);
    expect(matcher.find(Buffer.from('tel:353871234567;')).map((m) => m.needle.value)).toEqual(['353871234567']);
  });

  it('finds an e-mail whose Avro length prefix is itself a letter', () => {
    const email = 'ann.walsh.k3x9q1@example.ie'.replace('ann.', 'ann.marie.');
    const local = piiNeedles({ persons: [person('ann', [['email', email]])] });
    const bytes = identifierType.toBuffer({ type: 'email', value: email });
    const at = bytes.indexOf(email);
    expect(email.length).toBe(33);
    expect(String.fromCharCode(bytes[at - 1]!)).toBe('B'); // zig-zag 66: a token scanner would read "Bann.marie..."
    expect(new NeedleMatcher(local).find(bytes)).toEqual([{ needle: local[0], offset: at }]);
  });

  it('finds a needle split across chunks of a stream, at its offset in the whole', () => {
    const whole = Buffer.from(`${'x'.repeat(100)}call +353 87 123 4567 back, ${CAT.customer}.`);
    const matches: [string, number][] = [];
    const stream = matcher.stream((m) => matches.push([m.needle.value, m.offset]));
    for (let i = 0; i < whole.length; i += 7) stream.push(whole.subarray(i, i + 7));
    expect(matches).toEqual(matcher.find(whole).map((m) => [m.needle.value, m.offset]));
    expect(matches).toEqual([
      ['+353 87 123 4567', whole.indexOf('+353')],
      [CAT.customer, whole.indexOf(CAT.customer)],
    ]);
  });

  it('refuses an empty needle, which would match everywhere', () => {
    const empty: Needle = { kind: 'email', value: '', identifier: '', person: 'nobody' };
    expect(() => new NeedleMatcher([empty])).toThrow(/empty needle/);
  });
});

describe('scanFiles', () => {
  it('finds a raw phone inside an Avro record in a binary file, at its byte offset in the file', async () => {
    const record = avroTouchpoint({ identifiers: [{ type: 'phone', value: '087 123 4567' }], searchTerms: 'mortgage rates' });
    const noise = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 131) & 0xff));
    const file = join(dir, 'records.bin');
    await writeFile(file, Buffer.concat([noise, record, noise]));
    const result = await scanFiles([file], matcher);
    const offset = noise.length + record.indexOf('087 123 4567');
    expect(result.hits).toEqual([{ where: `${file} @${offset}`, offset, kind: 'phone', needle: '087 123 4567', identifier: ANN.phone, person: 'ann' }]);
    expect(result.scanned).toMatchObject({ files: 1, bytes: 2000 + record.length });
  });

  it('finds a raw e-mail in a JSON log line, as a channel spelled it', async () => {
    const lines = [
      { level: 30, time: 1741000000000, pid: 7, name: 'engine', msg: 'task ready' },
      { level: 40, time: 1741000000100, pid: 7, name: 'engine', err: { message: `cannot parse identifier '  ${ANN.email.toUpperCase()}'` }, msg: 'processor failed' },
    ].map((l) => JSON.stringify(l));
    const file = join(dir, 'engine.log');
    await writeFile(file, `${lines.join('\n')}\n`);
    const { hits } = await scanFiles([file], needles);
    const offset = Buffer.byteLength(`${lines[0]}\n`) + lines[1]!.indexOf(ANN.email.toUpperCase());
    expect(hits.map((h) => [h.where, h.kind, h.needle, h.person])).toEqual([[`${file} @${offset}`, 'email', ANN.email, 'ann']]);
  });

  it('reports nothing for a log that holds only hashed identifiers, and says what it read', async () => {
    const ids = [['email', ANN.email], ['phone', '087 123 4567'], ['customer_id', ANN.customer], ['phone', CAT.phone]] as const;
    const lines = ids.map(([type, value], i) => JSON.stringify({ level: 30, time: 1741000000000 + i, identifier: hashed(type, value), profileId: `p-${i}`, msg: 'merged' }));
    const file = join(dir, 'clean.log');
    await writeFile(file, `${lines.join('\n')}\n`);
    const result = await scanFiles([file], matcher);
    expect(result).toEqual({ hits: [], truncated: false, vanished: [], scanned: { bytes: (await stat(file)).size, files: 1, records: 0, partitions: 0, databases: 0 } });
  });

  it('streams a large file: a needle across a chunk boundary is found, every file under a directory is read', async () => {
    const logs = join(dir, 'logs');
    await mkdir(join(logs, 'old'), { recursive: true });
    const big = Buffer.alloc((1 << 20) + 4096, 0x20);
    const at = (1 << 20) - 5;
    big.write(CAT.customer, at);
    await writeFile(join(logs, 'old', 'engine.1.log'), big);
    await writeFile(join(logs, 'engine.log'), 'nothing here\n');
    const result = await scanFiles([logs], matcher);
    expect(result.hits.map((h) => h.where)).toEqual([`${join(logs, 'old', 'engine.1.log')} @${at}`]);
    expect(result.scanned.files).toBe(2);
  });

  it('stops at maxHits and says the list is cut short', async () => {
    const file = join(dir, 'leaky.log');
    await writeFile(file, `${ANN.email}\n`.repeat(50));
    const result = await scanFiles([file], matcher, { maxHits: 10 });
    expect(result.hits).toHaveLength(10);
    expect(result.truncated).toBe(true);
    expect(combineResults([result, { hits: [], truncated: false, scanned: { bytes: 5, files: 1, records: 0, partitions: 0, databases: 0 }, vanished: [] }]).scanned.files).toBe(2);
  });
});

describe('scanStateDir', () => {
  it('finds a raw phone in a RocksDB value by iterating the database and in its write-ahead log, while the engine still holds it', async () => {
    const path = join(dir, 'app', '0_0');
    const backing = await RocksBacking.open(path);
    try {
      const profile = JSON.stringify({ id: 'p-1', identifiers: [hashed('email', ANN.email)], note: 'call back on +353 87 123 4567' });
      await backing.apply(
        [
          { store: 'profiles', key: 'p-1', value: Buffer.from(profile) },
          { store: 'profiles', key: 'p-2', value: Buffer.from(JSON.stringify({ id: 'p-2', identifiers: [hashed('phone', CAT.phone)] })) },
        ],
        new Map([['app-profiles-changelog', 12n]]),
      );
      const result = await scanStateDir(dir, matcher);
      const wal = (await readdir(path)).filter((f) => f.endsWith('.log'));
      expect(wal.length).toBeGreaterThan(0);
      const valueOffset = Buffer.from(profile).indexOf('+353 87 123 4567');
      expect(result.hits.map((h) => [h.where.startsWith(join(path, wal[0]!)) ? 'wal' : h.where, h.needle])).toEqual([
        ['wal', '+353 87 123 4567'],
        [`${path} value of key "profiles\\u0000p-1" @${valueOffset}`, '+353 87 123 4567'],
      ]);
      expect(result.scanned.databases).toBe(1);
      expect(result.scanned.records).toBe(3); // two profiles and the checkpoint
    } finally {
      await backing.close();
    }
  });

  it('still finds a value deleted since in the raw bytes, and a raw key by iteration', async () => {
    const path = join(dir, 'app', '1_0');
    const backing = await RocksBacking.open(path);
    await backing.apply([{ store: 'by-email', key: ANN.email, value: Buffer.from('p-1') }, { store: 'notes', key: 'n1', value: Buffer.from(CAT.customer) }], new Map());
    await backing.apply([{ store: 'notes', key: 'n1', value: null }], new Map());
    await backing.close();
    const { hits } = await scanStateDir(dir, matcher);
    const byIteration = hits.filter((h) => h.where.startsWith(`${path} `));
    expect(byIteration.map((h) => h.where)).toEqual([`${path} key "by-email\\u0000${ANN.email}" @9`]);
    const raw = hits.filter((h) => !h.where.startsWith(`${path} `));
    expect(raw.map((h) => h.needle).sort()).toEqual([ANN.email, CAT.customer].sort());
  });

  it('reports nothing for a database that holds only hashed identifiers', async () => {
    const backing = await RocksBacking.open(join(dir, 'app', '2_0'));
    const writes = [['email', ANN.email], ['phone', '0871234567'], ['customer_id', CAT.customer], ['phone', BOB.phone]].map(([type, value], i) => ({
      store: 'identity',
      key: hashed(type!, value!),
      value: Buffer.from(JSON.stringify({ profileId: `p-${i}`, linkedAt: 1741000000000 + i })),
    }));
    await backing.apply(writes, new Map([['identity-changelog', 4n]]));
    await backing.close();
    const result = await scanStateDir(dir, matcher);
    expect(result.hits).toEqual([]);
    expect(result.scanned).toMatchObject({ databases: 1, records: 5 });
    expect(result.scanned.files).toBeGreaterThan(3);
  });
});
