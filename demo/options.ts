import { custom, durationOption, flag, parseOptions, positive, rate, seconds, text, usage, whole } from '../cli/args';

const OPTIONS = {
  people: whole('N', 'simulated people', 10_000, 1),
  rate: rate('touchpoints per second, wall clock', 3000),
  seed: whole('N', 'population and behaviour', 1, 0),
  days: positive('N', 'simulated period in days', 30),
  ahead: custom(
    'DURATION|rules|off',
    "pace the feed: at most this much event time ahead of what the engine\nhas processed; rules: half the rules' shortest maxDelay; off: as fast as\n--rate (the screen still says how far behind the engine is)",
    (given, name) => (given === undefined || given === 'off' ? 'off' : given === 'rules' ? 'rules' : durationOption(name, given)),
    'off',
  ),
  config: text('DIR', "the engine's config and rule files (default config/)"),
  duration: seconds('stop by itself after this long (default: run until Ctrl-C)'),
  drain: seconds('at the end, wait at most this long for the engine to process\neverything sent; a second Ctrl-C skips it', 60),
  keep: flag('keep this run\'s topics and state (default: deleted at the end)'),
  results: flag('append identity accuracy and lift to bench/RESULTS.md'),
  'summary-json': text('FILE', 'write the final summary as JSON'),
  truth: text('FILE', "write the simulator's ground truth (people <-> identifiers, true uplift)"),
  plain: flag('no redrawing: print the summary every --every seconds (default when\nstdout is not a terminal)'),
  every: seconds('with --plain', 10),
};

export const USAGE = usage(
  `usage: npm run demo [-- options]

Brings up the local stack if needed, creates this run's topics, starts the
engine in process, and feeds it a simulated population whose people answer
the engine's commands. A live summary is redrawn about once a second;
Ctrl-C stops everything cleanly and prints a final summary with identity
accuracy and lift against the simulator's ground truth.
`,
  OPTIONS,
  `Environment: LP_HTTP_PORT (default 8080, or a free port if 8080 is taken),
LP_PROFILE_API_TOKEN (default: a random token, printed), LP_KAFKA_BROKERS,
LP_REGISTRY_URL.
`,
);

export interface DemoOptions {
  people: number;
  /** Touchpoints per second; Infinity for max. */
  rate: number;
  seed: number;
  days: number;
  /** Pacing: ms of event time ahead of the engine, 'rules' (derived from the rules' maxDelay) or 'off'. */
  ahead: number | 'rules' | 'off';
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
  const v = parseOptions(OPTIONS, argv);
  return {
    people: v.people,
    rate: v.rate,
    seed: v.seed,
    days: v.days,
    ahead: v.ahead,
    config: v.config ?? null,
    durationMs: v.duration ?? null,
    drainMs: v.drain,
    keep: v.keep,
    results: v.results,
    summaryJson: v['summary-json'] ?? null,
    truth: v.truth ?? null,
    plain: v.plain || !isTty,
    everyMs: v.every,
    help: v.help,
  };
}
