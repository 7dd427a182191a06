import { duration, flag, parseOptions, positive, rate, seconds, text, usage, UsageError, whole } from '../../../cli/args';
import { parseDemoArgs } from '../../../demo/options';

const OPTIONS = {
  people: whole('N', 'simulated people', 10_000, 1),
  rate: rate('touchpoints per second', Infinity),
  days: positive('N', 'simulated period in days'),
  linger: seconds('keep answering this long', 20),
  settle: { ...duration('move event time this far\npast the last touchpoint'), section: 'replay' },
  truth: text('FILE', 'write the ground truth here'),
  'dry-run': flag('no broker'),
};

describe('command-line options declared once', () => {
  it('reads typed values, with the declared defaults', () => {
    expect(parseOptions(OPTIONS, [])).toEqual({ people: 10_000, rate: Infinity, days: undefined, linger: 20_000, settle: undefined, truth: undefined, 'dry-run': false, help: false });
    expect(parseOptions(OPTIONS, ['--people', '5', '--rate', '250', '--days', '0.5', '--linger', '3', '--settle', '2m', '--truth', 't.json', '--dry-run', '-h'])).toEqual({
      people: 5,
      rate: 250,
      days: 0.5,
      linger: 3_000,
      settle: 120_000,
      truth: 't.json',
      'dry-run': true,
      help: true,
    });
  });

  it.each([
    [['--people', '0'], '--people 0: expected a whole number >= 1'],
    [['--rate', 'fast'], '--rate fast: expected a number above 0'],
    [['--settle', 'soon'], '--settle soon: not a duration'],
    [['--truth'], "Option '--truth <value>' argument missing"],
    [['--bogus'], "Unknown option '--bogus'"],
    [['extra'], "Unexpected argument 'extra'"],
  ])('refuses %j naming the option', (argv, message) => {
    expect(() => parseOptions(OPTIONS, argv)).toThrow(UsageError);
    expect(() => parseOptions(OPTIONS, argv)).toThrow(message);
  });

  it('writes the help from the same declaration', () => {
    expect(usage('usage: simulate [options]\n', OPTIONS, 'Durations: 45s, 30m.\n')).toBe(`usage: simulate [options]

  --people N         simulated people (default 10000)
  --rate N|max       touchpoints per second (default max)
  --days N           simulated period in days
  --linger SECONDS   keep answering this long (default 20)

replay
  --settle DURATION  move event time this far
                     past the last touchpoint
  --truth FILE       write the ground truth here
  --dry-run          no broker
  --help             this text

Durations: 45s, 30m.
`);
  });

  it('gives the demo its documented options', () => {
    expect(parseDemoArgs(['--duration', '60', '--people', '2000', '--rate', 'max'], true)).toMatchObject({ durationMs: 60_000, people: 2000, rate: Infinity, drainMs: 60_000, plain: false, everyMs: 10_000 });
    expect(parseDemoArgs([], false).plain).toBe(true);
  });
});
