import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { finished } from 'node:stream/promises';
import * as avro from 'avsc';
import type { Touchpoint } from '../processors/model/touchpoint';
import { SchemaCatalog } from '../runtime/serde/schema-catalog';
import { SCHEMAS_DIR } from '../topology';
import { renderHtml } from './html';
import type { ReplayReport } from './report';
import { AvroFileSource, NdjsonSource, ReplayInputError, type ReplaySource } from './sources';

/** The file source for a path, by its extension: .ndjson / .jsonl, or .avro. */
export function fileSource(path: string, partitions: number): ReplaySource {
  const ext = extname(path).toLowerCase();
  if (ext === '.ndjson' || ext === '.jsonl') return new NdjsonSource(path, partitions);
  if (ext === '.avro') return new AvroFileSource(path, partitions);
  throw new ReplayInputError(`${path}: unknown input format '${ext || '(none)'}': use .ndjson (one touchpoint per line) or .avro (an Avro container file of Touchpoint records)`);
}

/** Writes report.json and report.html into `dir`; returns their paths. */
export async function writeReport(dir: string, report: ReplayReport): Promise<{ json: string; html: string }> {
  await mkdir(dir, { recursive: true });
  const json = join(dir, 'report.json');
  const html = join(dir, 'report.html');
  await writeFile(json, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(html, renderHtml(report));
  return { json, html };
}

/** Writes touchpoints as an Avro object container file (the --input format), with schemas/Touchpoint.avsc or `type`. */
export async function writeAvroFile(file: string, touchpoints: Iterable<unknown>, type: avro.Type = SchemaCatalog.load(SCHEMAS_DIR).type('Touchpoint'), codec: 'null' | 'deflate' = 'deflate'): Promise<void> {
  const encoder = new avro.streams.BlockEncoder(type, { codec } as never);
  const out = createWriteStream(file);
  encoder.pipe(out);
  for (const t of touchpoints) encoder.write(t as Touchpoint);
  encoder.end();
  await finished(out);
}

/** Writes touchpoints as NDJSON (the --input format): one JSON object per line. */
export async function writeNdjsonFile(file: string, touchpoints: Iterable<unknown>): Promise<void> {
  const lines: string[] = [];
  for (const t of touchpoints) lines.push(JSON.stringify(t));
  await writeFile(file, lines.length > 0 ? `${lines.join('\n')}\n` : '');
}
