import type { Touchpoint } from '../model/touchpoint';

/**
 * Which touchpoints a score or a counter looks at. Every field given must
 * match (and); within a field any listed value matches (or). Shared by
 * config/scoring.yaml (`when`) and config/segments.yaml (`match`).
 */
export interface EventFilterConfig {
  channel?: string[];
  eventType?: string[];
  /** page.category */
  category?: string[];
  /** page.path starts with one of these. */
  pathPrefix?: string[];
}

export type EventFilter = (touchpoint: Touchpoint) => boolean;

const list = { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } } as const;

export const eventFilterSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { channel: list, eventType: list, category: list, pathPrefix: list },
} as const;

/** Compiles a filter once, at load time, into one closure of set lookups. */
export function compileEventFilter(config: EventFilterConfig | undefined): EventFilter {
  const tests: EventFilter[] = [];
  if (config?.channel) {
    const channels = new Set(config.channel);
    tests.push((t) => channels.has(t.channel));
  }
  if (config?.eventType) {
    const types = new Set(config.eventType);
    tests.push((t) => types.has(t.eventType));
  }
  if (config?.category) {
    const categories = new Set(config.category);
    tests.push((t) => t.page?.category != null && categories.has(t.page.category));
  }
  if (config?.pathPrefix) {
    const prefixes = config.pathPrefix;
    tests.push((t) => {
      const path = t.page?.path;
      if (path == null) return false;
      for (const prefix of prefixes) if (path.startsWith(prefix)) return true;
      return false;
    });
  }
  if (tests.length === 0) return () => true;
  if (tests.length === 1) return tests[0]!;
  return (t) => {
    for (const test of tests) if (!test(t)) return false;
    return true;
  };
}
