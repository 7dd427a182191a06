import { readFileSync } from 'node:fs';
import Ajv, { type ErrorObject, type Schema } from 'ajv';
import { isMap, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { ConfigError } from '../runtime/errors';
import { isDuration, isPositiveDuration } from './duration';

// verbose: errors carry the value and the schema at fault, which the messages quote. strictRequired
// off: a choice of fields (oneOf: [{ required: [a] }, ...]) names fields defined beside it, not in it.
const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true, verbose: true });
ajv.addFormat('duration', { type: 'string', validate: isDuration });
ajv.addFormat('positive-duration', { type: 'string', validate: isPositiveDuration });

/** Reports a problem at a JSON pointer of the file (`/segments/s/when`); never returns. */
export type Fail = (path: string, problem: string) => never;

/**
 * One config or rule file: its schema says everything a schema can (types,
 * names, durations, the shape of every condition); `compile` checks the
 * rest (references to other files) and builds what the processors use.
 * `Context` is what it needs from files read before it.
 */
export interface ConfigFile<Raw, Compiled, Context = void> {
  /** Its name in a config directory, e.g. `segments.yaml`. */
  name: string;
  schema: Schema;
  /**
   * Refuses forms an earlier version accepted, with the form that replaced
   * them. Runs before the schema, whose complaint about the old form would
   * not say what to write instead.
   */
  retired?: (value: unknown, fail: Fail) => void;
  compile(raw: Raw, context: Context, fail: Fail): Compiled;
}

/**
 * Reads a YAML config or rule file, validates it and compiles it. Any
 * problem is a ConfigError that names the file, the path inside it, the
 * line, and what is wrong, at start-up, never at the first matching event.
 */
export function loadConfigFile<Raw, Compiled, Context>(declaration: ConfigFile<Raw, Compiled, Context>, file: string, context: Context): Compiled {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, '', `cannot be read: ${(error as Error).message}`);
  }
  return parseConfigFile(declaration, file, text, context);
}

/** loadConfigFile for text already read; `file` names it in errors. */
export function parseConfigFile<Raw, Compiled, Context>(declaration: ConfigFile<Raw, Compiled, Context>, file: string, text: string, context: Context): Compiled {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (document.errors.length > 0) {
    const error = document.errors[0]!;
    const at = lines.linePos(error.pos[0]);
    throw new ConfigError(file, `line ${at.line}`, `not valid YAML: ${error.message.split('\n')[0]}`);
  }
  const fail: Fail = (path, problem) => {
    throw new ConfigError(file, locate(document, lines, path), problem);
  };
  const value: unknown = document.toJS();
  declaration.retired?.(value, fail);
  const problem = schemaProblem(declaration.schema, value);
  if (problem) fail(problem.path, problem.problem);
  return declaration.compile(value as Raw, context, fail);
}

/** The most useful schema error of `value`, with its JSON pointer; undefined when the value is valid. */
export function schemaProblem(schema: Schema, value: unknown): { path: string; problem: string } | undefined {
  // ajv keeps what it compiled by schema object: each file's schema is compiled once
  const validate = ajv.compile(schema);
  if (validate(value)) return undefined;
  const error = mostUseful(validate.errors ?? []);
  const key = error.keyword === 'propertyNames' ? `/${String((error.params as { propertyName: string }).propertyName)}` : '';
  return { path: error.instancePath + key, problem: describe(error) };
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

/**
 * Prefers the error that says most: two fields given where one is chosen
 * (a condition's kind); an unknown field, a missing one or a bad value,
 * deepest first; a choice between fields over the "required" of each
 * field it lists; a name refused by `propertyNames` over what it found.
 */
function mostUseful(errors: ErrorObject[]): ErrorObject {
  const ranked = [...errors].sort((a, b) => rank(a) - rank(b) || b.instancePath.length - a.instancePath.length);
  return ranked[0]!;
}

function rank(error: ErrorObject): number {
  const choice = choiceOfFields(error) !== undefined;
  if (choice && (error.params as { passingSchemas?: unknown }).passingSchemas) return -1;
  if (error.keyword === 'propertyNames') return 0;
  if ((error.params as { propertyName?: string }).propertyName !== undefined) return 3;
  if (error.keyword === 'required' && /\/(anyOf|oneOf)\/\d+\/required$/.test(error.schemaPath)) return 3;
  if (choice) return 1;
  if (error.keyword === 'additionalProperties' || error.keyword === 'required' || error.keyword === 'enum' || error.keyword === 'format') return 0;
  if (error.keyword === 'anyOf' || error.keyword === 'oneOf' || error.keyword === 'if') return 2;
  return 1;
}

/** The fields of a `oneOf`/`anyOf` whose every branch only requires one field; else undefined. */
function choiceOfFields(error: ErrorObject): string[] | undefined {
  if (error.keyword !== 'anyOf' && error.keyword !== 'oneOf') return undefined;
  const branches = error.schema as { required?: string[] }[];
  const fields = branches.map((b) => (b.required?.length === 1 ? b.required[0] : undefined));
  return fields.every((f) => f !== undefined) ? (fields as string[]) : undefined;
}

function describe(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  const parent = error.parentSchema as { title?: string; description?: string; properties?: Record<string, unknown> } | undefined;
  const choice = choiceOfFields(error);
  if (choice) {
    const passing = (error.params as { passingSchemas?: number[] | null }).passingSchemas;
    if (passing) return `'${choice[passing[0]!]}' and '${choice[passing[1]!]}' cannot be together in ${parent?.title ?? 'one place'}: give exactly one of ${choice.join(', ')}`;
    const found = typeof error.data === 'object' && error.data !== null ? Object.keys(error.data) : [];
    const how = error.keyword === 'oneOf' ? 'exactly one' : 'at least one';
    return `${parent?.title ?? 'this'} needs ${how} of: ${choice.join(', ')} (found: ${found.join(', ') || 'nothing'})`;
  }
  switch (error.keyword) {
    case 'additionalProperties': {
      const allowed = Object.keys(parent?.properties ?? {});
      const what = parent?.title ? ` for ${parent.title}` : '';
      return `unknown field '${String(params.additionalProperty)}'${what} (allowed: ${allowed.join(', ')})`;
    }
    case 'required':
      return `'${String(params.missingProperty)}' is required here`;
    case 'type':
      return `must be ${String(params.type)}, got ${JSON.stringify(error.data)}`;
    case 'pattern':
      return parent?.description ? `${JSON.stringify(error.data)}: ${parent.description}` : `${JSON.stringify(error.data)} must match ${String(params.pattern)}`;
    case 'enum':
      return `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'format':
      return params.format === 'positive-duration'
        ? `${JSON.stringify(error.data)} is not a duration: write a positive whole number and a unit (ms, s, m, h, d, w), e.g. 30m or 7d`
        : `${JSON.stringify(error.data)} is not a duration: write a whole number and a unit (ms, s, m, h, d, w), e.g. 0s, 30m or 7d`;
    case 'propertyNames':
      return `'${String(params.propertyName)}' is not a valid name: use lower case letters, digits and _ (dots between parts of a score name), and not a word JavaScript objects reserve (constructor)`;
    case 'not': {
      const both = (error.schema as { required?: string[] }).required;
      return both ? `give ${both.map((f) => `'${f}'`).join(' or ')}, not both` : error.message ?? 'invalid';
    }
    default: {
      const value = typeof error.data === 'object' && error.data !== null ? '' : `, got ${JSON.stringify(error.data)}`;
      return `${error.message ?? 'invalid'}${value}`;
    }
  }
}
