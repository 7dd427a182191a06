import { ConfigError } from '../../../runtime/errors';
import { loadSimulatorConfig, parseDuration } from '../../../simulator/config';
import { UsageError } from '../../../cli/args';
import { parseCliArgs } from '../../../simulator/cli';
import { variantConfig } from './support';

/** The ConfigError a variant of simulator/personas.yaml raises. */
function problem(...replacements: [string, string][]): string {
  try {
    variantConfig(...replacements);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('the variant was accepted');
}

describe('simulator/personas.yaml', () => {
  it('loads and describes every persona the issue names', () => {
    const config = loadSimulatorConfig();
    expect(Object.keys(config.personas)).toEqual(
      expect.arrayContaining(['mortgage_shopper', 'bill_payer', 'card_churn_risk', 'dormant_customer', 'anonymous_researcher', 'cart_abandoner', 'everyday_bank_customer', 'everyday_shopper']),
    );
    const everyday = config.personas.everyday_bank_customer!.habits;
    expect(everyday.find((h) => h.channel === 'online_banking')!.perMonth).toBe(9);
    expect(everyday.find((h) => h.kind === 'atm')!.perMonth).toBe(12);
    expect(everyday.find((h) => h.kind === 'email')!.perMonth * 12).toBe(1.5);
  });

  it('names the file, path and line of a mistake, and the fix', () => {
    expect(problem(['categories: { savings: 2, cards: 1, loans: 1, service: 0.2 } }', 'categories: { savings: 2, cars: 1 } }'])).toMatch(
      /^variant\.yaml: personas\.everyday_bank_customer\.habits\[0\]\.categories\.cars \(line \d+\): unknown category 'cars' \(known: mortgages, cards/,
    );
    expect(problem(['- { kind: atm, perMonth: 12, amount: [20, 200], balanceViewShare: 0.3 }', '- { kind: atm, perMonth: 12, cartShare: 0.3 }'])).toMatch(
      /habits\[1\]\.cartShare \(line \d+\): 'cartShare' is not read by atm habits \(they read: amount, balanceViewShare\)/,
    );
    expect(problem(['  office: [0, 0, 0, 0, 0, 0, 0, 0, 0, 2.0', '  office: [0, 0, 0, 0, 0, 0, 0, 0, 2.0'])).toMatch(/rhythms\.office \(line \d+\): must NOT have fewer than 24 items/);
    expect(problem(['anonymous_search_help: { baseRate: 0.05, uplift: 0.04,', 'anonymous_search_help: { baseRate: 0.9, uplift: 0.2,'])).toMatch(
      /outcomes\.triggers\.anonymous_search_help \(line \d+\): baseRate \+ uplift = 1\.1/,
    );
    expect(problem(['{ zone: America/New_York, weight: 8, country: US }', '{ zone: America/Springfield, weight: 8, country: US }'])).toMatch(/timeZones\[2\]\.zone .*not an IANA time zone/);
    expect(problem(['  malformedShare: 0', '  malformedShare: 0\n  typo: 1'])).toMatch(/identity .*unknown field 'typo'/);
    expect(problem(['weight: 10\n    customerShare: 0\n    habits:\n', 'weight: 10\n    customerShare: 0\n    habits:\n      - { kind: atm, perMonth: 1 }\n'])).toMatch(
      /personas\.anonymous_researcher\.habits\[0\]\.kind \(line \d+\): atm habits are for bank personas \(this one is retail\)/,
    );
  });

  it('reads durations', () => {
    expect([parseDuration('500ms'), parseDuration('45s'), parseDuration('30m'), parseDuration('2h'), parseDuration('7d'), parseDuration('2w')]).toEqual([500, 45_000, 1_800_000, 7_200_000, 604_800_000, 1_209_600_000]);
    expect(() => parseDuration('2 days')).toThrow(/not a duration/);
  });
});

describe('simulator command line', () => {
  const env = { LP_KAFKA_BROKERS: 'k1:9092,k2:9092', LP_REGISTRY_URL: 'http://registry' };

  it('has defaults from the local stack settings', () => {
    expect(parseCliArgs([], env)).toMatchObject({ seed: 1, people: 10_000, days: 30, rate: Infinity, topic: 'touchpoints.raw', truth: null, respond: false, brokers: ['k1:9092', 'k2:9092'], registry: 'http://registry', batch: 2000, inFlight: 1 });
  });

  it('reads every option', () => {
    const o = parseCliArgs(['--seed', '42', '--people', '500', '--days', '0.5', '--rate', '2500', '--topic', 't', '--truth', 'truth.json', '--respond', '--linger', '3', '--brokers', 'b:1', '--registry', 'http://r', '--dry-run'], env);
    expect(o).toMatchObject({ seed: 42, people: 500, days: 0.5, rate: 2500, topic: 't', truth: 'truth.json', respond: true, lingerMs: 3000, brokers: ['b:1'], registry: 'http://r', dryRun: true });
    expect(parseCliArgs(['--rate', 'max'], env).rate).toBe(Infinity);
  });

  it('says which option is wrong', () => {
    expect(() => parseCliArgs(['--people', '0'], env)).toThrow(new UsageError('--people 0: expected a whole number >= 1'));
    expect(() => parseCliArgs(['--seed', '1.5'], env)).toThrow(/--seed 1.5: expected a whole number >= 0/);
    expect(() => parseCliArgs(['--rate', 'fast'], env)).toThrow(/--rate fast: expected a number above 0/);
    expect(() => parseCliArgs(['--sede', '1'], env)).toThrow(UsageError);
  });
});
