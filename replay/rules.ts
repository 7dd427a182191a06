import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { loadProductConfig } from '../config/product';
import { ConfigError } from '../runtime/errors';
import type { ProductConfig } from '../topology';

/**
 * A set of rules to replay with: a directory of the product's YAML rule
 * files (the layout of config/). A variant directory only needs the files
 * it changes; every other file comes from the baseline directory. Which
 * file came from where, and its SHA-256, goes into the report, so a report
 * says exactly which rules produced it.
 */
export interface RulesFile {
  name: string;
  /** The file actually read. */
  path: string;
  /** 'own': in the rules directory; 'baseline': taken from the baseline directory. */
  origin: 'own' | 'baseline';
  sha256: string;
  /** Its text, for the report's rule diff. */
  text: string;
}

export interface RuleSet {
  name: string;
  dir: string;
  config: ProductConfig;
  files: RulesFile[];
}

/** Files in a config directory that are not rules (the engine's own settings). */
const NOT_RULES = new Set(['engine.yaml']);

export function isRulesFile(name: string): boolean {
  return (name.endsWith('.yaml') || name.endsWith('.yml')) && !NOT_RULES.has(name);
}

function ruleFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => isRulesFile(f) && statSync(join(dir, f)).isFile());
}

/**
 * Loads and validates the rules of `dir`, completed from `baselineDir` for
 * any file `dir` does not have. Errors name the real file (not the
 * temporary directory the two are assembled in).
 */
export function loadRuleSet(name: string, dir: string, baselineDir?: string): RuleSet {
  const own = resolve(dir);
  if (!existsSync(own) || !statSync(own).isDirectory()) throw new ConfigError(own, '', 'is not a directory of rule files (like config/)');
  const base = baselineDir === undefined ? undefined : resolve(baselineDir);
  const chosen = new Map<string, { path: string; origin: 'own' | 'baseline' }>();
  if (base !== undefined && base !== own) for (const f of ruleFiles(base)) chosen.set(f, { path: join(base, f), origin: 'baseline' });
  for (const f of ruleFiles(own)) chosen.set(f, { path: join(own, f), origin: 'own' });
  if (chosen.size === 0) throw new ConfigError(own, '', 'holds no rule files (*.yaml)');

  const assembled = mkdtempSync(join(tmpdir(), 'lp-replay-rules-'));
  const realPath = new Map<string, string>();
  try {
    for (const [file, { path }] of chosen) {
      copyFileSync(path, join(assembled, file));
      realPath.set(join(assembled, file), path);
    }
    let config: ProductConfig;
    try {
      config = loadProductConfig(assembled);
    } catch (error) {
      if (error instanceof ConfigError) {
        const real = realPath.get(error.file) ?? (basename(error.file) ? join(own, basename(error.file)) : error.file);
        throw new ConfigError(real, error.path, error.problem);
      }
      throw error;
    }
    const files: RulesFile[] = [...chosen]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([file, { path, origin }]) => {
        const text = readFileSync(path, 'utf8');
        return { name: file, path, origin, sha256: createHash('sha256').update(text).digest('hex'), text };
      });
    return { name, dir: own, config, files };
  } finally {
    rmSync(assembled, { recursive: true, force: true });
  }
}

export interface LineDiff {
  /** ' ' same, '-' only in the first, '+' only in the second */
  op: ' ' | '-' | '+';
  text: string;
}

/**
 * Line diff of two small texts (rule files), by longest common
 * subsequence; unchanged stretches longer than 2 * context lines are
 * folded to a '…' line.
 */
export function diffLines(a: string, b: string, context = 3): LineDiff[] {
  const x = a.split('\n');
  const y = b.split('\n');
  const n = x.length;
  const m = y.length;
  if (n * m > 4_000_000) return [{ op: '-', text: `(${n} lines)` }, { op: '+', text: `(${m} lines: too long to compare line by line)` }];
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) lcs[i]![j] = x[i] === y[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  }
  const all: LineDiff[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) {
      all.push({ op: ' ', text: x[i]! });
      i++;
      j++;
    } else if (i < n && (j === m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) all.push({ op: '-', text: x[i++]! });
    else all.push({ op: '+', text: y[j++]! });
  }
  const keep = all.map((line, k) => line.op !== ' ' || all.slice(Math.max(0, k - context), k + context + 1).some((l) => l.op !== ' '));
  const folded: LineDiff[] = [];
  for (let k = 0; k < all.length; k++) {
    if (keep[k]) folded.push(all[k]!);
    else if (folded.length === 0 || folded[folded.length - 1]!.text !== '…' || folded[folded.length - 1]!.op !== ' ') folded.push({ op: ' ', text: '…' });
  }
  return folded;
}
