import { join } from 'node:path';
import { parseConfigFile } from '../../../config/load';
import { loadProductConfig } from '../../../config/product';
import { emptyProfile, type ProfileState } from '../../../processors/model/profile-state';
import { segmentsFile } from '../../../processors/segmentation/config';
import { Evaluation } from '../../../processors/segmentation/rules';
import { triggersFile } from '../../../processors/triggers/config';
import { compileRules } from '../../../processors/triggers/rules';

const shipped = loadProductConfig(join(__dirname, '../../../config'));
const T0 = Date.UTC(2026, 0, 5, 12);
const DAY = 86_400_000;

const COUNTERS = `counters:
  views: { match: { eventType: [page_view] }, window: 7d }
`;

/** segments.yaml with one segment `s` whose condition is `when` (YAML flow or block, indented under `when:`). */
const segments = (when: string) => parseConfigFile(segmentsFile, 'segments.yaml', `${COUNTERS}segments:\n  s:\n    when: ${when}\n`, shipped.scoring);

/** triggers.yaml with one trigger `t` whose audience is `who`, read against segments.yaml with counter `views` and segment `s`. */
const triggers = (who: string, segmentRules = segments('{ known: true }')) =>
  parseConfigFile(
    triggersFile,
    'triggers.yaml',
    `defaults: { grace: 5m, priority: 50, ttl: 1h, purpose: marketing, maxDelay: 10m, holdoutPercent: 0, cooldown: 1d }
triggers:
  - id: t
    description: a login
    when: { event: { eventType: login } }
    who: ${who}
    engage: { action: banner, contentRef: hello, channels: [web] }
`,
    { scoring: shipped.scoring, segments: segmentRules },
  );

describe('the rule language of segments and triggers', () => {
  it('refuses an unknown field, naming it with its kind and the fields the kind has', () => {
    expect(() => segments('{ counter: views, atleast: 3 }')).toThrow(
      "segments.yaml: segments.s.when (line 5): unknown field 'atleast' for a 'counter' condition (allowed: counter, atLeast, atMost, above, below, within)",
    );
    expect(() => triggers('{ all: [ { known: true }, { consent: { channel: email, purpose: marketing, granted: true } } ] }')).toThrow(
      /^triggers\.yaml: triggers\[0\]\.who\.all\[1\]\.consent \(line 6\): unknown field 'granted' \(allowed: channel, purpose\)$/,
    );
  });

  it('refuses a condition of no known kind, or of two kinds', () => {
    expect(() => segments('{ scroe: intent.mortgage, atLeast: 3 }')).toThrow(
      'segments.yaml: segments.s.when (line 5): a condition needs exactly one of: all, any, not, counter, noEvent, score, segment, known, channel, lastSeenWithin, consent, trait (found: scroe, atLeast)',
    );
    expect(() => segments('{ counter: views, noEvent: views, atLeast: 1 }')).toThrow(/segments\.s\.when \(line 5\): 'counter' and 'noEvent' cannot be together in a condition/);
  });

  it('refuses a bound of the wrong type, a missing bound, and a bad duration', () => {
    expect(() => segments('{ score: intent.mortgage, atLeast: high }')).toThrow('segments.yaml: segments.s.when.atLeast (line 5): must be number, got "high"');
    expect(() => segments('{ counter: views }')).toThrow(/segments\.s\.when \(line 5\): a 'counter' condition needs at least one of: atLeast, atMost, above, below/);
    expect(() => segments('{ noEvent: views, within: 7x }')).toThrow(
      /^segments\.yaml: segments\.s\.when\.within \(line 5\): "7x" is not a duration: write a positive whole number and a unit/,
    );
    expect(() => triggers('{ channel: web, within: 0s }')).toThrow(/triggers\[0\]\.who\.within \(line 6\): "0s" is not a duration: write a positive/);
  });

  it('refuses a name the other files do not define', () => {
    expect(() => triggers('{ counter: veiws, atLeast: 1 }')).toThrow(/who\.counter \(line 6\): unknown counter 'veiws' \(counters in segments\.yaml: views\)/);
    expect(() => triggers('{ segment: x }')).toThrow(/who\.segment \(line 6\): unknown segment 'x' \(segments in segments\.yaml: s\)/);
    expect(() => segments('{ segment: s }')).toThrow(/segments\.s\.when\.segment \(line 5\): a segment cannot depend on another segment's membership/);
  });

  it('refuses the old forms with the form to write', () => {
    expect(() => segments('{ all: [ { known: true }, { consent: email|marketing } ] }')).toThrow(
      "segments.yaml: segments.s.when.all[1].consent (line 5): consent: 'email|marketing' is the old form: write consent: { channel: email, purpose: marketing }",
    );
    expect(() => triggers('{ score: { name: churn_risk, atLeast: 5, below: 20 } }')).toThrow(
      'triggers.yaml: triggers[0].who.score (line 6): score: { name: churn_risk, ... } is the old form: write { score: churn_risk, atLeast: 5, below: 20 } (atLeast, atMost, above, below beside it)',
    );
    const withKnownTypes = () =>
      parseConfigFile(triggersFile, 'triggers.yaml', 'knownIdentifierTypes: [customer_id]\ndefaults: {}\ntriggers: []\n', { scoring: shipped.scoring, segments: shipped.segments });
    expect(withKnownTypes).toThrow(/^triggers\.yaml: knownIdentifierTypes \(line 1\): is no longer read: a person is known when a customer id is linked/);
  });

  describe('one syntax, one meaning: a condition holds for a segment exactly when it holds for a trigger', () => {
    const person = (build: (p: ProfileState) => void): ProfileState => {
      const p = emptyProfile('p', T0 - 10 * DAY);
      p.lastSeen = T0 - DAY;
      build(p);
      return p;
    };
    const customer = person((p) => {
      p.identifiers.customer_id = ['c-1'];
      p.counters.views = [[T0 - 2 * DAY, 1], [T0 - DAY, 1], [T0 - 3_600_000, 1]];
      p.consent['email|marketing'] = { value: true, at: T0 - 5 * DAY };
      p.channels.web = { count: 3, lastAt: T0 - DAY, session: null };
      p.traits.tier = { value: 'gold', at: T0 - 5 * DAY };
      p.scores.churn_risk = { value: 12, at: T0, halfLife: 7 * DAY, contributions: {} };
    });
    const visitor = person((p) => {
      p.counters.views = [[T0 - 9 * DAY, 1]];
    });

    it.each([
      '{ known: true }',
      '{ counter: views, atLeast: 3 }',
      '{ counter: views, above: 2, below: 4, within: 2d }',
      '{ noEvent: views, within: 12h }',
      '{ score: churn_risk, atLeast: 10 }',
      '{ score: churn_risk, below: 12 }',
      '{ consent: { channel: email, purpose: marketing } }',
      "{ consent: { channel: '*', purpose: marketing } }",
      '{ channel: web, within: 2d }',
      '{ lastSeenWithin: 12h }',
      '{ trait: tier, in: [gold, platinum] }',
      '{ all: [ { known: true }, { not: { counter: views, atMost: 1 } } ] }',
      '{ any: [ { known: false }, { trait: tier, equals: silver } ] }',
    ])('%s', (condition) => {
      const segmentRules = segments(condition);
      const who = compileRules(triggers(condition, segmentRules)).byId.get('t')!.who!;
      for (const profile of [customer, visitor]) {
        const ev = new Evaluation(segmentRules);
        ev.run(profile, T0);
        expect(who(profile, T0)).toBe(ev.holds(segmentRules.segments[0]!));
      }
    });
  });
});
