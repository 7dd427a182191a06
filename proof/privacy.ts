import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import RocksDB from 'rocksdb-native';
import { Kafka, logLevel, type Admin } from '../runtime/kafka/kafkajs/client';
import { KafkajsPartitionReader } from '../runtime/kafka/kafkajs/partition-reader';
import { deadLetterTopic } from '../runtime/topology';
import type { GroundTruth } from '../simulator/truth';
import { topicNames } from '../topology';

/**
 * The proof of "no raw PII at rest": after a run, look for every e-mail,
 * phone number and customer id of the simulator's ground truth, in every
 * spelling a channel sends, in the run's topics (except the channels' own
 * input and its dead letters), in every RocksDB database of the state
 * directory and in the engine's logs. Identifiers must only exist there as
 * their keyed hash.
 */

export type PiiKind = 'email' | 'phone' | 'customer_id';

export const PII_KINDS: readonly PiiKind[] = ['email', 'phone', 'customer_id'];

export interface Needle {
  kind: PiiKind;
  /** A spelling to look for (matched ignoring ASCII case). */
  value: string;
  /** The identifier it spells, normalised like the engine does before hashing. */
  identifier: string;
  /** Whose it is (ids of the truth; several people for a shared one). */
  person: string;
}

export interface Hit {
  /** Where, readable: `topic/partition/offset value @byte`, `file @byte`, `database key "..." @byte`. */
  where: string;
  /** Byte offset of the needle's first byte inside the field, file or RocksDB key/value that `where` names. */
  offset: number;
  kind: PiiKind;
  /** The spelling found. */
  needle: string;
  identifier: string;
  person: string;
}

export interface ScanStats {
  bytes: number;
  files: number;
  /** Kafka records, or RocksDB entries. */
  records: number;
  partitions: number;
  databases: number;
}

export interface ScanResult {
  hits: Hit[];
  /** More than `maxHits` hits were found; the scan stopped at the limit. */
  truncated: boolean;
  /** What was read: a proof with no hits must also show that it read something. */
  scanned: ScanStats;
  /** Files that vanished between listing and reading (RocksDB deletes SSTs and WALs it has compacted or flushed). */
  vanished: string[];
}

export interface ScanOptions {
  /** Hits recorded before a scan stops (default 1,000): one leak tends to be everywhere, and each hit holds the raw value. */
  maxHits?: number;
}

/** Needles, or a matcher already compiled from them (to compile once for several scans). */
export type Needles = readonly Needle[] | NeedleMatcher;

// ------------------------------------------------------------- needles ---

/** Shorter values would match by chance anywhere (and are not identifiers the engine accepts). */
const MIN_NEEDLE_LENGTH = 6;

/**
 * Every spelling of every raw-PII identifier of the truth. Shared
 * identifiers (household devices) are included when they are of a PII kind.
 */
export function piiNeedles(truth: Pick<GroundTruth, 'persons'> & Partial<Pick<GroundTruth, 'shared'>>): Needle[] {
  const needles = new Map<string, Needle>();
  const add = (type: string, identifier: string, person: string) => {
    if (!isPiiKind(type)) return;
    for (const value of spellings(type, identifier)) {
      if (value.length >= MIN_NEEDLE_LENGTH && !needles.has(value)) needles.set(value, { kind: type, value, identifier, person });
    }
  };
  for (const person of truth.persons) for (const id of person.identifiers) add(id.type, id.value, person.id);
  for (const shared of truth.shared ?? []) add(shared.type, shared.value, shared.persons.join('+'));
  return [...needles.values()];
}

export function isPiiKind(type: string): type is PiiKind {
  return (PII_KINDS as readonly string[]).includes(type);
}

/**
 * The spellings of a normalised identifier that channels send (see
 * simulator/population.ts rawEmail and rawPhone) or that a URL would carry.
 * Case variants of e-mails ("AOIFE@EXAMPLE.COM", "Aoife.Murphy@Example.com")
 * need no spelling of their own: matching ignores ASCII case. Spaces around
 * a value do not change the bytes of the value itself.
 */
export function spellings(kind: PiiKind, normalised: string): string[] {
  switch (kind) {
    case 'email':
      return unique([normalised, encodeURIComponent(normalised)]);
    case 'phone':
      return phoneSpellings(normalised);
    case 'customer_id':
      return [normalised];
  }
}

/**
 * E.164, E.164 without the plus, the international format with spaces
 * ("+353 87 123 4567", "+44 7712 345678", "+1 212 555 1234") and the
 * national format ("087 123 4567", "(212) 555-1234"), plus the national
 * digits alone where they start with a trunk 0 ("0871234567"). A national
 * number without a trunk prefix (US "2125551234") is left out: ten bare
 * digits occur inside timestamps and amounts by chance.
 */
function phoneSpellings(e164: string): string[] {
  const result = [e164, e164.replace(/^\+/, '')];
  const phone = parsePhoneNumberFromString(e164);
  if (phone) {
    const national = phone.formatNational();
    result.push(phone.formatInternational(), national);
    if (national.startsWith('0')) result.push(national.replace(/\D/g, ''));
  }
  return unique(result);
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

// ------------------------------------------------------------- matcher ---

export interface Match {
  needle: Needle;
  /** Offset of the needle's first byte. */
  offset: number;
}

/** A child table per node with at least this many children; fewer are a short sibling list. */
const DENSE_CHILDREN = 4;
const NONE = -1;

/**
 * Multi-needle search over bytes. Design: an Aho–Corasick automaton over
 * ASCII-case-folded bytes, chosen over "tokenise, then look tokens up in a
 * Set" because a needle inside binary Avro has no reliable token boundary
 * (a string's length prefix can itself be a letter or digit: length 33 is
 * 'B'), while the automaton finds every needle as a plain substring in one
 * pass whatever surrounds it, and carries its state across chunks, so files
 * stream without overlap handling. Bytes are mapped to a few classes (those
 * in no needle are class 0 and reset the automaton); the trie is built from
 * the sorted needles without a hash map; a node with many children gets a
 * dense row, the long single-child tails of unique needles a sibling list.
 * Per end position only the longest needle is reported, so "+353871234567"
 * is one hit, not also one for "353871234567" inside it.
 */
export class NeedleMatcher {
  /** One needle per distinct folded spelling, by pattern number. */
  private readonly needles: Needle[];
  private readonly lengths: Int32Array;
  private readonly classOf: Uint8Array;
  private readonly classes: number;
  private readonly label: Uint8Array;
  private readonly firstChild: Int32Array;
  private readonly nextSibling: Int32Array;
  private readonly fail: Int32Array;
  /** The longest pattern ending at a node (its own, or a suffix's), or NONE. */
  private readonly out: Int32Array;
  private readonly dense: Int32Array;
  private readonly rows: Int32Array;

  constructor(needles: readonly Needle[]) {
    const patterns = foldedPatterns(needles);
    this.needles = patterns.map((p) => p.needle);
    this.lengths = Int32Array.from(patterns, (p) => p.bytes.length);
    this.classOf = byteClasses(patterns.map((p) => p.bytes));
    this.classes = Math.max(...this.classOf) + 1;
    const trie = buildTrie(patterns.map((p) => p.bytes), this.classOf);
    this.label = trie.label;
    this.firstChild = trie.firstChild;
    this.nextSibling = trie.nextSibling;
    ({ dense: this.dense, rows: this.rows } = denseRows(trie, this.classes));
    ({ fail: this.fail, out: this.out } = this.linkFailures(trie.nodes, trie.terminal));
  }

  get size(): number {
    return this.needles.length;
  }

  /** Every match in `bytes` (as one piece). */
  find(bytes: Uint8Array): Match[] {
    const matches: Match[] = [];
    this.advance(bytes, 0, 0, (pattern, offset) => matches.push({ needle: this.needles[pattern]!, offset }));
    return matches;
  }

  /** A scan over bytes that arrive in chunks: a needle split between two chunks is found. */
  stream(onMatch: (match: Match) => void): MatchStream {
    let state = 0;
    let offset = 0;
    return {
      push: (chunk: Uint8Array) => {
        state = this.advance(chunk, state, offset, (pattern, at) => onMatch({ needle: this.needles[pattern]!, offset: at }));
        offset += chunk.length;
      },
    };
  }

  /** Runs the automaton over `bytes` from `state`; `base` is the offset of bytes[0]. Returns the state after. */
  private advance(bytes: Uint8Array, state: number, base: number, onMatch: (pattern: number, offset: number) => void): number {
    // The hot loop: fields copied to locals, no calls except on a match.
    const { classOf, classes, dense, rows, firstChild, nextSibling, label, fail, out, lengths } = this;
    let s = state;
    for (let i = 0, n = bytes.length; i < n; i++) {
      const c = classOf[bytes[i]];
      if (c === 0) {
        s = 0;
        continue;
      }
      // The root's and every dense row are complete, so this ends at the latest at the root.
      for (;;) {
        const d = dense[s];
        if (d !== NONE) {
          s = rows[d * classes + c];
          break;
        }
        let t = NONE;
        for (let child = firstChild[s]; child !== NONE; child = nextSibling[child]) {
          if (label[child] === c) {
            t = child;
            break;
          }
        }
        if (t !== NONE) {
          s = t;
          break;
        }
        s = fail[s];
      }
      const o = out[s];
      if (o !== NONE) onMatch(o, base + i + 1 - lengths[o]);
    }
    return s;
  }

  private child(node: number, c: number): number {
    const d = this.dense[node]!;
    if (d !== NONE) return this.rows[d * this.classes + c]!;
    for (let child = this.firstChild[node]!; child !== NONE; child = this.nextSibling[child]!) if (this.label[child] === c) return child;
    return NONE;
  }

  /**
   * Failure links and outputs, breadth first (a node's failure target is
   * shallower, so already done); a dense row's missing entries become the
   * transition its failure chain would take, so a dense node never follows
   * a failure link at scan time.
   */
  private linkFailures(nodes: number, terminal: Int32Array): { fail: Int32Array; out: Int32Array } {
    const fail = new Int32Array(nodes);
    const out = new Int32Array(nodes).fill(NONE);
    const queue = new Int32Array(nodes);
    let head = 0;
    let tail = 1;
    while (head < tail) {
      const node = queue[head++]!;
      for (let child = this.firstChild[node]!; child !== NONE; child = this.nextSibling[child]!) {
        fail[child] = node === 0 ? 0 : this.transition(fail, fail[node]!, this.label[child]!);
        out[child] = terminal[child] !== NONE ? terminal[child]! : out[fail[child]!]!;
        queue[tail++] = child;
      }
      this.completeRow(fail, node);
    }
    return { fail, out };
  }

  private completeRow(fail: Int32Array, node: number): void {
    const d = this.dense[node]!;
    if (d === NONE) return;
    const row = d * this.classes;
    for (let c = 1; c < this.classes; c++) {
      if (this.rows[row + c] === NONE) this.rows[row + c] = node === 0 ? 0 : this.transition(fail, fail[node]!, c);
    }
  }

  /** Where the automaton goes from `from` on class `c`: a child, else the same from its failure target, ending at the root. */
  private transition(fail: Int32Array, from: number, c: number): number {
    for (let node = from; ; node = fail[node]!) {
      const next = this.child(node, c);
      if (next !== NONE) return next;
      if (node === 0) return 0;
    }
  }
}

export interface MatchStream {
  push(chunk: Uint8Array): void;
}

interface Pattern {
  bytes: Buffer;
  needle: Needle;
}

/** Needles as lower-cased UTF-8, one per distinct spelling, in byte order (the trie is built in that order). */
function foldedPatterns(needles: readonly Needle[]): Pattern[] {
  const byKey = new Map<string, Pattern>();
  for (const needle of needles) {
    if (needle.value.length === 0) throw new Error(`an empty needle (${needle.kind} of ${needle.person}) would match everywhere`);
    const bytes = foldCase(Buffer.from(needle.value, 'utf8'));
    const key = bytes.toString('latin1');
    if (!byKey.has(key)) byKey.set(key, { bytes, needle });
  }
  return [...byKey.values()].sort((a, b) => Buffer.compare(a.bytes, b.bytes));
}

function foldCase(bytes: Buffer): Buffer {
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! >= 0x41 && bytes[i]! <= 0x5a) bytes[i] = bytes[i]! + 0x20;
  return bytes;
}

/** Byte -> class: 1.. for each byte some needle holds (both cases of a letter alike), 0 for the rest. */
function byteClasses(patterns: readonly Buffer[]): Uint8Array {
  const classOf = new Uint8Array(256);
  let next = 1;
  for (const bytes of patterns) for (const b of bytes) if (classOf[b] === 0) classOf[b] = next++;
  for (let upper = 0x41; upper <= 0x5a; upper++) classOf[upper] = classOf[upper + 0x20]!;
  return classOf;
}

interface Trie {
  nodes: number;
  label: Uint8Array;
  firstChild: Int32Array;
  nextSibling: Int32Array;
  childCount: Int32Array;
  /** Pattern number ending exactly at a node, or NONE. */
  terminal: Int32Array;
}

/**
 * The trie of sorted, distinct patterns: each pattern shares with the trie
 * exactly its common prefix with the previous one, and its new nodes are
 * the last children of their parents, so no lookup is needed to insert.
 */
function buildTrie(sorted: readonly Buffer[], classOf: Uint8Array): Trie {
  const capacity = sorted.reduce((sum, p) => sum + p.length, 1);
  const label = new Uint8Array(capacity);
  const firstChild = new Int32Array(capacity).fill(NONE);
  const nextSibling = new Int32Array(capacity).fill(NONE);
  const lastChild = new Int32Array(capacity).fill(NONE);
  const childCount = new Int32Array(capacity);
  const terminal = new Int32Array(capacity).fill(NONE);
  const path = new Int32Array(Math.max(0, ...sorted.map((p) => p.length)) + 1);
  let nodes = 1;
  let previous: Buffer = Buffer.alloc(0);
  sorted.forEach((pattern, index) => {
    const common = commonPrefix(previous, pattern);
    let node = path[common]!;
    for (let i = common; i < pattern.length; i++) {
      const child = nodes++;
      label[child] = classOf[pattern[i]!]!;
      if (lastChild[node] === NONE) firstChild[node] = child;
      else nextSibling[lastChild[node]!] = child;
      lastChild[node] = child;
      childCount[node]!++;
      node = child;
      path[i + 1] = child;
    }
    terminal[node] = index;
    previous = pattern;
  });
  return { nodes, label, firstChild, nextSibling, childCount, terminal };
}

function commonPrefix(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** A row of child per class for the root and every node with many children; NONE elsewhere. */
function denseRows(trie: Trie, classes: number): { dense: Int32Array; rows: Int32Array } {
  const dense = new Int32Array(trie.nodes).fill(NONE);
  let count = 0;
  for (let node = 0; node < trie.nodes; node++) if (node === 0 || trie.childCount[node]! >= DENSE_CHILDREN) dense[node] = count++;
  const rows = new Int32Array(count * classes).fill(NONE);
  for (let node = 0; node < trie.nodes; node++) {
    if (dense[node] === NONE) continue;
    for (let child = trie.firstChild[node]!; child !== NONE; child = trie.nextSibling[child]!) rows[dense[node]! * classes + trie.label[child]!] = child;
  }
  return { dense, rows };
}

export function toMatcher(needles: Needles): NeedleMatcher {
  return needles instanceof NeedleMatcher ? needles : new NeedleMatcher(needles);
}

// ---------------------------------------------------------------- hits ---

const DEFAULT_MAX_HITS = 1_000;

/** Hits and counts of one scan. */
class Findings {
  readonly hits: Hit[] = [];
  readonly scanned: ScanStats = { bytes: 0, files: 0, records: 0, partitions: 0, databases: 0 };
  readonly vanished: string[] = [];
  truncated = false;

  constructor(private readonly maxHits: number) {}

  get full(): boolean {
    return this.truncated;
  }

  add(where: string, match: Match): void {
    if (this.hits.length >= this.maxHits) {
      this.truncated = true;
      return;
    }
    const { needle, offset } = match;
    this.hits.push({ where: `${where} @${offset}`, offset, kind: needle.kind, needle: needle.value, identifier: needle.identifier, person: needle.person });
  }

  /** Scans one byte field as a whole. */
  scan(matcher: NeedleMatcher, where: string, bytes: Uint8Array | null | undefined): void {
    if (!bytes) return;
    this.scanned.bytes += bytes.length;
    for (const match of matcher.find(bytes)) this.add(where, match);
  }

  result(): ScanResult {
    return { hits: this.hits, truncated: this.truncated, scanned: this.scanned, vanished: this.vanished };
  }
}

/** Several scans as one result (e.g. topics, state and logs of one run). */
export function combineResults(results: readonly ScanResult[]): ScanResult {
  const scanned: ScanStats = { bytes: 0, files: 0, records: 0, partitions: 0, databases: 0 };
  for (const r of results) for (const key of Object.keys(scanned) as (keyof ScanStats)[]) scanned[key] += r.scanned[key];
  return {
    hits: results.flatMap((r) => r.hits),
    truncated: results.some((r) => r.truncated),
    scanned,
    vanished: results.flatMap((r) => r.vanished),
  };
}

// --------------------------------------------------------------- files ---

/** Reads files in chunks of this size: a log of gigabytes never sits in memory. */
const CHUNK_BYTES = 1 << 20;

/** Plain files (a directory: every file under it), streamed. */
export async function scanFiles(paths: readonly string[], needles: Needles, options: ScanOptions = {}): Promise<ScanResult> {
  const matcher = toMatcher(needles);
  const findings = new Findings(options.maxHits ?? DEFAULT_MAX_HITS);
  for (const path of paths) {
    for (const file of await filesUnder(path)) {
      if (findings.full) break;
      await scanFile(matcher, findings, file);
    }
  }
  return findings.result();
}

async function scanFile(matcher: NeedleMatcher, findings: Findings, file: string): Promise<void> {
  const stream = matcher.stream((match) => findings.add(file, match));
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: CHUNK_BYTES })) {
      stream.push(chunk as Buffer);
      findings.scanned.bytes += (chunk as Buffer).length;
      if (findings.full) break;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    findings.vanished.push(file);
    return;
  }
  findings.scanned.files++;
}

/** Every regular file at or under `path`, in name order (symbolic links are not followed). */
async function filesUnder(path: string): Promise<string[]> {
  if (!(await stat(path)).isDirectory()) return [path];
  const entries = (await readdir(path, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const nested = await Promise.all(
    entries.map((e) => (e.isDirectory() ? filesUnder(join(path, e.name)) : Promise.resolve(e.isFile() ? [join(path, e.name)] : []))),
  );
  return nested.flat();
}

// --------------------------------------------------------------- state ---

/** Longest part of a RocksDB key quoted in `where`. */
const KEY_QUOTE_CHARS = 120;

/**
 * Every RocksDB database under a state directory (the engine's
 * `<stateDir>/<appId>/<task>`; a database is a directory with a CURRENT
 * file), two ways: the raw bytes of every file under `dir` (WAL *.log files
 * hold recent writes as written, old SSTs and WALs hold values since
 * overwritten or deleted), and every live key and value as the database
 * returns them (which an SST's block compression would hide from the raw
 * scan). Databases are opened read-only: that takes no lock and writes
 * nothing, so the engine may still hold them; a read-only open replays the
 * WAL into its own memory, so it sees what the engine last wrote. While the
 * engine runs, files it deletes after a flush or compaction are listed in
 * `vanished`; scan after it stops for a complete proof.
 */
export async function scanStateDir(dir: string, needles: Needles, options: ScanOptions = {}): Promise<ScanResult> {
  const matcher = toMatcher(needles);
  const findings = new Findings(options.maxHits ?? DEFAULT_MAX_HITS);
  const files = await filesUnder(dir);
  for (const file of files) {
    if (findings.full) break;
    await scanFile(matcher, findings, file);
  }
  for (const database of files.filter((f) => basename(f) === 'CURRENT').map(dirname)) {
    if (findings.full) break;
    await scanDatabase(matcher, findings, database);
  }
  return findings.result();
}

async function scanDatabase(matcher: NeedleMatcher, findings: Findings, path: string): Promise<void> {
  const db = new RocksDB(path, { readOnly: true });
  await db.ready();
  try {
    for await (const { key, value } of db.iterator({})) {
      findings.scanned.records++;
      const quoted = JSON.stringify(key.toString('utf8').slice(0, KEY_QUOTE_CHARS));
      findings.scan(matcher, `${path} key ${quoted}`, key);
      findings.scan(matcher, `${path} value of key ${quoted}`, value);
      if (findings.full) break;
    }
  } finally {
    await db.close();
  }
  findings.scanned.databases++;
}

// -------------------------------------------------------------- topics ---

export interface TopicScanOptions extends ScanOptions {
  /**
   * read_uncommitted (default) also reads records of aborted transactions:
   * they stay in the log on disk until retention removes them.
   * read_committed reads what consumers of the product see.
   */
  isolation?: 'read_uncommitted' | 'read_committed';
  /** read_uncommitted: give up when the topics are not read to their end within this time (default 10 minutes). */
  timeoutMs?: number;
}

type HeaderValue = Buffer | string | (Buffer | string)[] | undefined;

interface ScannedRecord {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, HeaderValue>;
}

const CLIENT_ID = 'listening-post-privacy-scan';

/** Every record of every partition of `topics` (keys, values, header values), from each partition's first offset to its end at the start of the scan. */
export async function scanTopics(brokers: readonly string[], topics: readonly string[], needles: Needles, options: TopicScanOptions = {}): Promise<ScanResult> {
  const matcher = toMatcher(needles);
  const findings = new Findings(options.maxHits ?? DEFAULT_MAX_HITS);
  if (topics.length === 0) return findings.result();
  const kafka = new Kafka({ clientId: CLIENT_ID, brokers: [...brokers], logLevel: logLevel.NOTHING });
  const onRecord = (topic: string, partition: number, record: ScannedRecord) => scanRecord(matcher, findings, topic, partition, record);
  if (options.isolation === 'read_committed') await readCommitted(kafka, topics, findings, onRecord);
  else await readUncommitted(kafka, topics, findings, onRecord, options.timeoutMs ?? 600_000);
  return findings.result();
}

function scanRecord(matcher: NeedleMatcher, findings: Findings, topic: string, partition: number, record: ScannedRecord): void {
  const at = `${topic}/${partition}/${record.offset}`;
  findings.scanned.records++;
  findings.scan(matcher, `${at} key`, record.key);
  findings.scan(matcher, `${at} value`, record.value);
  for (const [name, value] of Object.entries(record.headers ?? {})) {
    for (const one of [value ?? []].flat()) findings.scan(matcher, `${at} header ${name}`, typeof one === 'string' ? Buffer.from(one) : one);
  }
}

type OnRecord = (topic: string, partition: number, record: ScannedRecord) => void;

/** Through PartitionReader: no consumer group, each partition up to its last stable offset. */
async function readCommitted(kafka: Kafka, topics: readonly string[], findings: Findings, onRecord: OnRecord): Promise<void> {
  const admin = kafka.admin();
  const reader = new KafkajsPartitionReader(kafka);
  await admin.connect();
  try {
    await reader.connect();
    for (const topic of topics) {
      const partitions = (await admin.fetchTopicOffsets(topic)).map((p) => p.partition);
      for (const [partition, { start, end }] of await reader.bounds(topic, partitions)) {
        findings.scanned.partitions++;
        if (start >= end || findings.full) continue;
        await reader.read({
          topic,
          partition,
          from: start,
          until: end,
          stopped: () => findings.full,
          onRecords: async (records) => records.forEach((r) => onRecord(topic, partition, r)),
        });
      }
    }
  } finally {
    await reader.disconnect().catch(() => undefined);
    await admin.disconnect();
  }
}

/**
 * Through a consumer of a throwaway group that commits nothing and is
 * deleted afterwards: PartitionReader reads read_committed only, and
 * kafkajs reads read_uncommitted only through a group. Each partition is
 * read up to its high watermark at the start.
 */
async function readUncommitted(kafka: Kafka, topics: readonly string[], findings: Findings, onRecord: OnRecord, timeoutMs: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `${CLIENT_ID}-${randomBytes(6).toString('hex')}`;
  try {
    const ends = await partitionEnds(admin, topics, findings);
    if (ends.size === 0) return;
    const consumer = kafka.consumer({ groupId, readUncommitted: true });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [...topics], fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`privacy scan: ${ends.size} partition(s) not read to their end within ${timeoutMs} ms`)), timeoutMs);
        const finish = () => {
          clearTimeout(timer);
          resolve();
        };
        consumer.on(consumer.events.CRASH, ({ payload }) => {
          if (!payload.restart) reject(payload.error);
        });
        consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
          const key = `${payload.topic}/${payload.partition}`;
          if (BigInt(payload.lastOffset) + 1n >= (ends.get(key) ?? 0n)) ends.delete(key);
          if (ends.size === 0 || findings.full) finish();
        });
        consumer
          .run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              const end = ends.get(`${batch.topic}/${batch.partition}`);
              for (const m of batch.messages) if (end !== undefined && BigInt(m.offset) < end) onRecord(batch.topic, batch.partition, m);
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }
  } finally {
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}

/** `topic/partition` -> high watermark, for partitions that hold records. */
async function partitionEnds(admin: Admin, topics: readonly string[], findings: Findings): Promise<Map<string, bigint>> {
  const ends = new Map<string, bigint>();
  for (const topic of topics) {
    for (const p of await admin.fetchTopicOffsets(topic)) {
      findings.scanned.partitions++;
      if (BigInt(p.high) > BigInt(p.low)) ends.set(`${topic}/${p.partition}`, BigInt(p.high));
    }
  }
  return ends;
}

/** Topics that start with one of `prefixes` or are named in `names`, without Kafka's internal ones. */
export async function listTopics(brokers: readonly string[], prefixes: readonly string[], names: readonly string[] = []): Promise<string[]> {
  const kafka = new Kafka({ clientId: CLIENT_ID, brokers: [...brokers], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const named = new Set(names);
    const topics = await admin.listTopics();
    return topics.filter((t) => !t.startsWith('__') && (named.has(t) || prefixes.some((p) => t.startsWith(p)))).sort();
  } finally {
    await admin.disconnect();
  }
}

/** Topics that hold raw PII by definition: what channels send, and its dead letters, which keep the original bytes. */
export function exemptTopics(topicPrefix = ''): string[] {
  const raw = topicNames(topicPrefix).raw;
  return [raw, deadLetterTopic(raw)];
}

/**
 * A run's topics that must hold no raw PII: the product's topics and their
 * dead letters, everything under its topic prefix (when it has one: an
 * empty prefix would take other runs' topics on a shared broker) and its
 * changelogs (`<appId>-...`), minus the exempt ones.
 */
export async function topicsToScan(brokers: readonly string[], run: { topicPrefix: string; appId: string }): Promise<string[]> {
  const exempt = new Set(exemptTopics(run.topicPrefix));
  const product = Object.values(topicNames(run.topicPrefix)).flatMap((t) => [t, deadLetterTopic(t)]);
  const prefixes = [`${run.appId}-`, ...(run.topicPrefix === '' ? [] : [run.topicPrefix])];
  return (await listTopics(brokers, prefixes, product)).filter((t) => !exempt.has(t));
}
