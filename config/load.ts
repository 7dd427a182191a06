import { readFileSync } from 'node:fs';
import Ajv, { type ErrorObject, type JSONSchemaType, type Schema } from 'ajv';
import { isMap, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { ConfigError } from '../runtime/errors';

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });

/**
 * Reads a YAML config or rule file and validates it against a JSON schema.
 * Any problem is a ConfigError that names the file, the path inside it, the
 * line, and what is wrong, at start-up, never at the first matching event.
 * `check` runs after the schema for rules the schema cannot express (e.g. a
 * segment that names an unknown counter); it throws ConfigError via `fail`.
 */
export function loadConfig<T>(
  file: string,
  schema: JSONSchemaType<T> | Schema,
  check?: (value: T, fail: (path: string, problem: string) => never) => void,
): T {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, '', `cannot be read: ${(error as Error).message}`);
  }
  return parseConfig(file, text, schema, check);
}

export function parseConfig<T>(
  file: string,
  text: string,
  schema: JSONSchemaType<T> | Schema,
  check?: (value: T, fail: (path: string, problem: string) => never) => void,
): T {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (document.errors.length > 0) {
    const error = document.errors[0]!;
    const at = lines.linePos(error.pos[0]);
    throw new ConfigError(file, `line ${at.line}`, `not valid YAML: ${error.message.split('\n')[0]}`);
  }
  const value = document.toJS() as T;
  const validate = ajv.compile(schema);
  if (!validate(value)) {
    const error = mostUseful(validate.errors ?? []);
    throw new ConfigError(file, locate(document, lines, error.instancePath), describe(error));
  }
  check?.(value, (path, problem) => {
    throw new ConfigError(file, locate(document, lines, path), problem);
  });
  return value;
}

/** `/segments/2/when` -> `segments[2].when (line 14)` */
function locate(document: Document, lines: LineCounter, pointer: string): string {
  const parts = pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let node: Node | null | undefined = document.contents as Node | null;
  let line: number | undefined;
  for (const part of parts) {
    if (isMap(node)) {
      const pair = node.items.find((item) => String((item.key as { value?: unknown })?.value ?? item.key) === part);
      node = pair?.value as Node | undefined;
      const range = (pair?.key as Node | undefined)?.range;
      if (range) line = lines.linePos(range[0]).line;
    } else if (isSeq(node)) {
      node = node.items[Number(part)] as Node | undefined;
      if (node?.range) line = lines.linePos(node.range[0]).line;
    } else break;
  }
  const path = parts.map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`)).join('').replace(/^\./, '');
  return line === undefined ? path : `${path} (line ${line})`;
}

/** Prefers the error that says most: an unknown property or a bad value over "must match a schema in anyOf". */
function mostUseful(errors: ErrorObject[]): ErrorObject {
  const ranked = [...errors].sort((a, b) => rank(a) - rank(b) || b.instancePath.length - a.instancePath.length);
  return ranked[0]!;
}

function rank(error: ErrorObject): number {
  if (error.keyword === 'additionalProperties' || error.keyword === 'required' || error.keyword === 'enum') return 0;
  if (error.keyword === 'anyOf' || error.keyword === 'oneOf') return 2;
  return 1;
}

function describe(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties':
      return `unknown field '${String(params.additionalProperty)}' (check its spelling against the documented fields)`;
    case 'required':
      return `'${String(params.missingProperty)}' is required here`;
    case 'enum':
      return `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return error.message ?? 'invalid';
  }
}
