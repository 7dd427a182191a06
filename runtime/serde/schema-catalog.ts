import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as avro from 'avsc';
import { SchemaError } from '../errors';

interface SchemaFile {
  file: string;
  fullName: string;
  json: unknown;
  references: string[];
}

/**
 * The Avro record types of `schemas/`, one per file. Files refer to each
 * other by full name; the catalog parses them in dependency order and hands
 * out self-contained schemas (referenced types inlined), which is what gets
 * registered, so the registry never needs schema references.
 */
export class SchemaCatalog {
  private readonly types = new Map<string, avro.Type>();

  private constructor(readonly dir: string) {}

  static load(dir: string): SchemaCatalog {
    const catalog = new SchemaCatalog(dir);
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.avsc'))
      .sort()
      .map((file) => readSchemaFile(dir, file));
    const byName = new Map(files.map((f) => [f.fullName, f]));
    for (const f of files) {
      f.references = f.references.filter((name) => name !== f.fullName && byName.has(name));
    }
    const registry: Record<string, avro.Type> = {};
    const done = new Set<string>();
    const visit = (f: SchemaFile, path: string[]): void => {
      if (done.has(f.fullName)) return;
      if (path.includes(f.fullName)) {
        throw new SchemaError(`${join(dir, f.file)}: circular reference ${[...path, f.fullName].join(' -> ')}`);
      }
      for (const ref of f.references) visit(byName.get(ref)!, [...path, f.fullName]);
      try {
        catalog.types.set(f.fullName, avro.Type.forSchema(f.json as avro.Schema, { registry, omitRecordMethods: true }));
      } catch (error) {
        throw new SchemaError(`${join(dir, f.file)}: not a valid Avro schema: ${(error as Error).message}`);
      }
      done.add(f.fullName);
    };
    for (const f of files) visit(f, []);
    return catalog;
  }

  /** The type named `name` (full name, or the short name when it is unique). */
  type(name: string): avro.Type {
    const exact = this.types.get(name);
    if (exact) return exact;
    const matches = [...this.types.keys()].filter((full) => full.endsWith(`.${name}`));
    if (matches.length === 1) return this.types.get(matches[0]!)!;
    throw new SchemaError(`no schema named '${name}' in ${this.dir} (known: ${[...this.types.keys()].join(', ')})`);
  }

  /** Self-contained schema text, as registered for a subject. */
  schemaText(name: string): string {
    return JSON.stringify(this.type(name).schema({ exportAttrs: true }));
  }

  names(): string[] {
    return [...this.types.keys()];
  }
}

function readSchemaFile(dir: string, file: string): SchemaFile {
  const path = join(dir, file);
  let json: { name?: unknown; namespace?: unknown };
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new SchemaError(`${path}: not valid JSON: ${(error as Error).message}`);
  }
  if (typeof json.name !== 'string') throw new SchemaError(`${path}: a schema file holds one named type; "name" is missing`);
  const fullName = json.name.includes('.') || typeof json.namespace !== 'string' ? json.name : `${json.namespace}.${json.name}`;
  const references: string[] = [];
  const walk = (node: unknown): void => {
    if (typeof node === 'string') references.push(node);
    else if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') Object.values(node).forEach(walk);
  };
  walk(json);
  return { file, fullName, json, references };
}
