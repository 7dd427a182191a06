import type { Touchpoint } from '../model/touchpoint';
import { compileEventFilter, type EventFilter } from '../profile/event-filter';
import { own } from '../profile/state';
import type { ScoreConfig, ScoringConfig } from './config';

/** The signal hits of one touchpoint for one score; reused, so scoring a touchpoint allocates no arrays. */
export class Hits {
  readonly names: string[] = [];
  readonly weights: number[] = [];
  size = 0;

  reset(): void {
    this.size = 0;
  }

  add(name: string, weight: number): void {
    if (weight === 0) return;
    this.names[this.size] = name;
    this.weights[this.size] = weight;
    this.size++;
  }
}

type Signal = (touchpoint: Touchpoint, hits: Hits) => void;

/** One score of config/scoring.yaml, compiled into closures at load time. */
export interface CompiledScore {
  name: string;
  /** ms */
  halfLife: number;
  /** Only touchpoints that match are scored. */
  matches: EventFilter;
  /** Adds the weighted signals of a matching touchpoint. */
  collect(touchpoint: Touchpoint, hits: Hits): void;
  /** Worth of the latest matching event, decaying like the rest; 0 when the score has no recency signal. */
  recency: number;
}

export interface ScoringModel {
  /** Contributions kept per score and shown as its explanation. */
  explain: number;
  scores: CompiledScore[];
  byName: ReadonlyMap<string, CompiledScore>;
}

/** `halfLives` are the scores' half-lives in ms, already checked by the loader. */
export function compileScoringModel(config: ScoringConfig, halfLives: Record<string, number>): ScoringModel {
  const scores = Object.entries(config.scores).map(([name, score]) => compileScore(name, score, halfLives[name]!));
  return { explain: config.explain, scores, byName: new Map(scores.map((s) => [s.name, s])) };
}

function compileScore(name: string, config: ScoreConfig, halfLife: number): CompiledScore {
  const s = config.signals;
  const signals: Signal[] = [];
  if (s.eventType) signals.push(keyed('eventType', s.eventType, (t) => t.eventType));
  if (s.medium) signals.push(keyed('medium', s.medium, (t) => t.source?.medium));
  if (s.channel) signals.push(keyed('channel', s.channel, (t) => t.channel));
  if (s.category) signals.push(keyed('category', s.category, (t) => t.page?.category));
  if (s.path) signals.push(pathSignal(s.path));
  if (s.attribute) signals.push(...Object.entries(s.attribute).map(([spec, weight]) => attributeSignal(spec, weight)));
  if (s.dwell) {
    const { perSecond, max } = s.dwell;
    signals.push((t, hits) => {
      const dwellMs = t.page?.dwellMs;
      if (dwellMs) hits.add('dwell', Math.min(max, (dwellMs / 1000) * perSecond));
    });
  }
  if (s.depth) {
    const { perPage, max } = s.depth;
    signals.push((t, hits) => {
      const depth = t.page?.depth;
      if (depth) hits.add('depth', Math.min(max, depth * perPage));
    });
  }
  if (s.frequency) {
    const weight = s.frequency;
    signals.push((_t, hits) => hits.add('frequency', weight));
  }
  return {
    name,
    halfLife,
    matches: compileEventFilter(config.when),
    collect(touchpoint, hits) {
      for (const signal of signals) signal(touchpoint, hits);
    },
    recency: s.recency ?? 0,
  };
}

/** A weight per value of one touchpoint field; the signal's name is built once, here. */
function keyed(kind: string, weights: Record<string, number>, pick: (t: Touchpoint) => string | null | undefined): Signal {
  const table = new Map(Object.entries(weights).map(([value, weight]) => [value, { name: `${kind}:${value}`, weight }]));
  return (t, hits) => {
    const value = pick(t);
    if (value == null) return;
    const entry = table.get(value);
    if (entry) hits.add(entry.name, entry.weight);
  };
}

/** The longest matching path prefix counts, once. */
function pathSignal(weights: Record<string, number>): Signal {
  const prefixes = Object.entries(weights)
    .map(([prefix, weight]) => ({ prefix, name: `path:${prefix}`, weight }))
    .sort((a, b) => b.prefix.length - a.prefix.length);
  return (t, hits) => {
    const path = t.page?.path;
    if (path == null) return;
    for (const p of prefixes) {
      if (path.startsWith(p.prefix)) {
        hits.add(p.name, p.weight);
        return;
      }
    }
  };
}

/** `key` matches when the attribute is present; `key=value` when it has that value. */
function attributeSignal(spec: string, weight: number): Signal {
  const name = `attribute:${spec}`;
  const split = spec.indexOf('=');
  if (split < 0) {
    return (t, hits) => {
      if (own(t.attributes, spec) !== undefined) hits.add(name, weight);
    };
  }
  const key = spec.slice(0, split);
  const value = spec.slice(split + 1);
  return (t, hits) => {
    if (own(t.attributes, key) === value) hits.add(name, weight);
  };
}
