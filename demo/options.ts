import { parseArgs } from 'node:util';
import { positiveNumber, UsageError, wholeNumber } from '../cli/args';

export const USAGE = `usage: npm run demo [-- options]

Brings up the local stack if needed, creates this run's topics, starts the
engine in process, and feeds it a simulated population whose people answer
the engine's commands. A live summary is redrawn about once a second;
Ctrl-C stops everything cleanly and prints a final summary with identity
accuracy and lift against the simulator's ground truth.

  --people N          simulated people (default 10000)
  --rate N|max        touchpoints per second, wall clock (default 3000)
  --seed N            population and behaviour (default 1)
  --days N            simulated period in days (default 30)
  --config DIR        the engine's config and rule files (default config/)
  --duration SECONDS  stop by itself after this long (default: run until Ctrl-C)
  --drain SECONDS     at the end, wait at most this long for the engine to process
                      everything sent (default 60; a second Ctrl-C skips it)
  --keep              keep this run's topics and state (default: deleted at the end)
  --results           append identity accuracy and lift to bench/RESULTS.md
  --summary-json FILE write the final summary as JSON
  --truth FILE        write the simulator's ground truth (people <-> identifiers, true uplift)
  --plain             no redrawing: print the summary every --every seconds (default when
                      stdout is not a terminal)
  --every SECONDS     with --plain (default 10)
  --help              this text

Environment: LP_HTTP_PORT (default 8080, or a free port if 8080 is taken),
LP_PROFILE_API_TOKEN (default: a random token, printed), LP_KAFKA_BROKERS,
LP_REGISTRY_URL.
`;

export interface DemoOptions {
  people: number;
  /** Touchpoints per second; Infinity for max. */
  rate: number;
  seed: number;
  days: number;
  /** Config directory for the engine (null: config/). */
  config: string | null;
  durationMs: number | null;
  drainMs: number;
  keep: boolean;
  results: boolean;
  summaryJson: string | null;
  truth: string | null;
  plain: boolean;
  everyMs: number;
  help: boolean;
}

export function parseDemoArgs(argv: string[], isTty: boolean): DemoOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        people: { type: 'string' },
        rate: { type: 'string' },
        seed: { type: 'string' },
        days: { type: 'string' },
        config: { type: 'string' },
        duration: { type: 'string' },
        drain: { type: 'string' },
        keep: { type: 'boolean' },
        results: { type: 'boolean' },
        'summary-json': { type: 'string' },
        truth: { type: 'string' },
        plain: { type: 'boolean' },
        every: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const v = parsed.values;
  return {
    people: wholeNumber('people', v.people, 10_000, 1),
    rate: v.rate === 'max' ? Infinity : (positiveNumber('rate', v.rate) ?? 3000),
    seed: wholeNumber('seed', v.seed, 1, 0),
    days: positiveNumber('days', v.days) ?? 30,
    config: v.config ?? null,
    durationMs: v.duration === undefined ? null : positiveNumber('duration', v.duration)! * 1000,
    drainMs: (positiveNumber('drain', v.drain) ?? 60) * 1000,
    keep: v.keep ?? false,
    results: v.results ?? false,
    summaryJson: v['summary-json'] ?? null,
    truth: v.truth ?? null,
    plain: v.plain ?? !isTty,
    everyMs: (positiveNumber('every', v.every) ?? 10) * 1000,
    help: v.help ?? false,
  };
}
