import { join } from 'node:path';
import { engagementFile } from '../../../config/engagement';
import { parseConfigFile } from '../../../config/load';
import { configWarnings, loadProductConfig } from '../../../config/product';
import { inheritedConversionWarnings } from '../../../processors/outcomes/config';
import { triggersFile, type TriggersFile } from '../../../processors/triggers/config';
import { compileRules } from '../../../processors/triggers/rules';
import { ConfigError } from '../../../runtime/errors';

const CONFIG = join(__dirname, '../../../config');
const shipped = loadProductConfig(CONFIG);

const parseTriggerRules = (file: string, text: string) => parseConfigFile(triggersFile, file, text, { scoring: shipped.scoring, segments: shipped.segments });

const RULE = `
defaults: { grace: 5m, priority: 50, ttl: 1h, purpose: marketing, maxDelay: 10m, holdoutPercent: 10, cooldown: 1d }
triggers:
  - id: first
    description: a login
    when:
      event: { eventType: login }
    engage:
      action: banner
      contentRef: hello
      channels: [web]
`;

function ruleError(text: string): ConfigError {
  try {
    parseTriggerRules('triggers.yaml', text);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('config/triggers.yaml', () => {
  it('ships rules that load, compile and fit the shipped engagement policy', () => {
    const compiled = compileRules(shipped.triggers);
    expect(compiled.triggers.map((t) => t.when.kind).sort()).toEqual(['absence', 'event', 'score', 'segment', 'segment', 'sequence', 'sequence']);
    expect(shipped.outcomes.conversionEvents).toContain('purchase');
  });

  it('compiles defaults, durations and channel choices', () => {
    const t = compileRules(parseTriggerRules('triggers.yaml', RULE)).byId.get('first')!;
    expect(t).toMatchObject({ ttl: 3_600_000, maxDelay: 600_000, cooldown: 86_400_000, grace: 300_000, priority: 50, holdoutPercent: 10, purpose: 'marketing' });
    expect(t.channels).toEqual([{ channel: 'web', action: 'banner', contentRef: 'hello' }]);
  });

  it('names the file, path and line of a duplicate trigger id', () => {
    const text = RULE + RULE.slice(RULE.indexOf('  - id: first'));
    const error = ruleError(text);
    expect(error.message).toMatch(/^triggers\.yaml: triggers\[1\]\.id \(line \d+\): trigger id 'first' is already used by triggers\[0\]/);
  });

  it('names an unknown field and a badly written duration', () => {
    expect(ruleError(RULE.replace('contentRef: hello', 'contentRef: hello\n      priorty: 3')).message).toMatch(
      /triggers\[0\]\.engage.*unknown field 'priorty'/,
    );
    expect(ruleError(RULE.replace('ttl: 1h', 'ttl: 1 hour')).message).toMatch(/defaults\.ttl \(line 2\): "1 hour" is not a duration/);
  });

  it('refuses a `when` with two kinds, a score crossing with both directions, a misplaced wildcard', () => {
    expect(ruleError(RULE.replace('event: { eventType: login }', 'event: { eventType: login }\n      segmentEntered: x')).message).toMatch(
      /triggers\[0\]\.when \(line \d+\): 'event' and 'segmentEntered' cannot be together in a trigger's when: give exactly one of event, sequence, absence, segmentEntered, scoreCrosses/,
    );
    expect(ruleError(RULE.replace('event: { eventType: login }', 'scoreCrosses: { score: churn_risk, above: 1, below: 0 }')).message).toMatch(
      /when\.scoreCrosses.*'above' and 'below' cannot be together in a score crossing/,
    );
    expect(ruleError(RULE.replace('event: { eventType: login }', 'event: { eventType: page_view, path: "/a*/b" }')).message).toMatch(
      /when\.event\.path.*may only end a path/,
    );
  });

  it('ranks by priority with every conversion worth 1 unless the file says otherwise', () => {
    const compiled = compileRules(parseTriggerRules('triggers.yaml', RULE));
    expect(compiled.arbitration).toBe('priority');
    expect(compiled.byId.get('first')!.value).toBe(1);
  });

  it('reads the arbitration method, a default value and a rule’s own value', () => {
    const text = `arbitration: { method: expected-value }\n${RULE.replace('cooldown: 1d }', 'cooldown: 1d, value: 2 }')}`;
    const withOwn = text.replace('channels: [web]', 'channels: [web]\n      value: 7.5');
    const compiled = compileRules(parseTriggerRules('triggers.yaml', text));
    expect(compiled.arbitration).toBe('expected-value');
    expect(compiled.byId.get('first')!.value).toBe(2);
    expect(compileRules(parseTriggerRules('triggers.yaml', withOwn)).byId.get('first')!.value).toBe(7.5);
  });

  it('refuses an unknown arbitration method and a value that is not a positive number', () => {
    expect(ruleError(`arbitration: { method: highest-value }\n${RULE}`).message).toMatch(/arbitration\.method \(line 1\).*priority.*expected-value/);
    expect(ruleError(`arbitration: {}\n${RULE}`).message).toMatch(/arbitration.*method/);
    expect(ruleError(RULE.replace('channels: [web]', 'channels: [web]\n      value: 0')).message).toMatch(/triggers\[0\]\.engage\.value \(line \d+\).*> 0/);
    expect(ruleError(RULE.replace('channels: [web]', 'channels: [web]\n      value: lots')).message).toMatch(/triggers\[0\]\.engage\.value.*number/);
  });

  it('refuses an absence whose maxDelay cannot outlast its grace', () => {
    const absence = RULE.replace('event: { eventType: login }', 'absence: { after: { eventType: a }, missing: { eventType: b }, within: 30m }').replace(
      'channels: [web]',
      'channels: [web]\n      maxDelay: 5m',
    );
    expect(ruleError(absence).message).toMatch(/engage\.maxDelay.*grace.*stale/);
  });
});

const POLICY = `
eligibility:
  defaultTimeZone: Europe/Dublin
  consent: { allowWithoutRecord: [service] }
  channels:
    web: { reach: session, sessionGap: 30m }
  fatigue:
    caps: [{ max: 3, per: 1d }]
    dismissals: { countAs: 1, triggerCooldown: 30d }
  arbitration: { window: 2s }
  holdout: { salt: s }
outcomes:
  attributionWindow: 7d
  conversionEvents: [purchase]
  lift: { everyChanges: 10, maxInterval: 1m }
`;

const NO_RULES: TriggersFile = { defaults: shipped.triggers.defaults, triggers: [] };
const parseEngagement = (text: string, rules: TriggersFile = NO_RULES) => parseConfigFile(engagementFile, 'engagement.yaml', text, rules);

function policyError(text: string, withRules = false): ConfigError {
  try {
    parseEngagement(text, withRules ? parseTriggerRules('triggers.yaml', RULE) : undefined);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('config/engagement.yaml', () => {
  it('reads both sections', () => {
    const engagement = parseEngagement(POLICY);
    expect(engagement.eligibility.arbitration.window).toBe('2s');
    expect(engagement.outcomes.lift.everyChanges).toBe(10);
  });

  it('names an unknown time zone and a session channel without a gap', () => {
    expect(policyError(POLICY.replace('Europe/Dublin', 'Europe/Atlantis')).message).toMatch(
      /eligibility\.defaultTimeZone \(line 3\): 'Europe\/Atlantis' is not an IANA time zone/,
    );
    expect(policyError(POLICY.replace('{ reach: session, sessionGap: 30m }', '{ reach: session }')).message).toMatch(/channels\.web.*needs 'sessionGap'/);
  });

  it('checks the rules against the policy: every channel configured, every maxDelay longer than the arbitration window', () => {
    expect(policyError(POLICY.replace('web: {', 'app: {'), true).message).toMatch(/trigger 'first' uses channel 'web', which has no policy here/);
    expect(policyError(POLICY.replace('window: 2s', 'window: 10m'), true).message).toMatch(
      /arbitration\.window.*trigger 'first' has maxDelay 10m, not longer than the arbitration window/,
    );
  });

  it('validates the outcomes section on its own', () => {
    expect(() => parseEngagement(POLICY.replace('everyChanges: 10', 'everyChanges: 0'))).toThrow(
      /outcomes\.lift\.everyChanges.*must be >= 1/,
    );
    expect(() => parseEngagement(POLICY.slice(0, POLICY.indexOf('outcomes:')))).toThrow(/'outcomes' is required/);
  });

  it('warns about every enabled rule with a holdout that inherits the default conversion events, and about none of the shipped rules', () => {
    const outcomes = parseEngagement(POLICY).outcomes;
    const variants = RULE + ['second', 'third', 'fourth'].map((id) => RULE.slice(RULE.indexOf('  - id: first')).replace('first', id)).join('');
    const rules = parseTriggerRules('triggers.yaml', variants);
    const [, second, third, fourth] = rules.triggers;
    second!.engage.holdoutPercent = 0;
    third!.enabled = false;
    fourth!.measure = { conversionEvents: ['purchase'] };
    expect(inheritedConversionWarnings(outcomes, rules)).toEqual([
      'triggers.yaml: rule first (10% held out) inherits the default conversion events [purchase] from engagement.yaml outcomes.conversionEvents; ' +
        'a rule whose outcome never produces them measures no lift: give it its own measure.conversionEvents',
    ]);
    expect(configWarnings(shipped)).toEqual([]);
  });
});
