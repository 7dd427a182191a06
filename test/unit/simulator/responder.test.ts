import type { Touchpoint } from '../../../processors/model/touchpoint';
import { TouchpointGenerator } from '../../../simulator/generator';
import { buildModel } from '../../../simulator/model';
import { createPopulation, type Population } from '../../../simulator/population';
import { commandOutcomes, decisionOutcomes, OutcomeResponder, parseEventId, type CommandLike, type DecisionLike } from '../../../simulator/responder';
import { DAY, personasModel, variantConfig } from './support';

const HOUR = 3_600_000;

/** A population and some of its touchpoints to be the causes of commands. */
function causes(seed = 51, count = 4_000): { population: Population; causes: Touchpoint[] } {
  const population = createPopulation({ seed, people: 2_000, model: personasModel() });
  const generator = new TouchpointGenerator(population, { days: 10 });
  const out: Touchpoint[] = [];
  for (let t = generator.take(); t !== undefined && out.length < count; t = generator.take()) if (t.eventType === 'page_view') out.push(t);
  return { population, causes: out };
}

const command = (cause: Touchpoint, i: number, triggerId = 'cart_abandoned'): CommandLike => ({
  commandId: `cmd-${i}`,
  triggerId,
  channel: 'email',
  action: 'email',
  createdAt: cause.occurredAt,
  expiresAt: cause.occurredAt + DAY,
  trace: { causeEventIds: ['someone-elses-event', cause.eventId] },
});

const decision = (cause: Touchpoint, i: number, outcome = 'held_out', triggerId = 'cart_abandoned'): DecisionLike => ({
  decisionId: `dec-${i}`,
  triggerId,
  outcome,
  decidedAt: cause.occurredAt,
  trace: { causeEventIds: [cause.eventId] },
});

describe('the outcome responder', () => {
  const { population, causes: events } = causes();

  it('answers a command the same way every time (per command id and seed)', () => {
    const a = new OutcomeResponder(population).respondToCommand(command(events[0]!, 0));
    const b = new OutcomeResponder(population).respondToCommand(command(events[0]!, 0));
    expect(a.length).toBeGreaterThan(0);
    expect(b).toEqual(a);
    const other = createPopulation({ seed: 52, people: 2_000, model: personasModel() });
    const answers = (p: Population) => events.slice(0, 200).map((c, i) => commandOutcomes(p, { ...command(c, i), trace: { causeEventIds: [`${p.tag}.${parseEventId(c.eventId)!.person}.0.c`] } })!.map((t) => t.eventType).join());
    expect(answers(other)).not.toEqual(answers(population));
  });

  it('converts treated people at baseRate + uplift and held-out people at baseRate', () => {
    const responder = new OutcomeResponder(population);
    const n = 4_000;
    let treated = 0;
    let control = 0;
    for (let i = 0; i < n; i++) {
      const cause = events[i % events.length]!;
      if (responder.respondToCommand(command(cause, i)).some((t) => t.eventType === 'converted')) treated++;
      if (responder.respondToDecision(decision(cause, i)).length > 0) control++;
    }
    // cart_abandoned: base 0.12, uplift 0.10 (simulator/personas.yaml); 3 standard errors ~ 0.02
    expect(treated / n).toBeGreaterThan(0.22 - 0.02);
    expect(treated / n).toBeLessThan(0.22 + 0.02);
    expect(control / n).toBeGreaterThan(0.12 - 0.016);
    expect(control / n).toBeLessThan(0.12 + 0.016);
    expect(responder.stats).toMatchObject({ commands: n, decisions: n, converted: treated, controlConverted: control, unknownPerson: 0 });
  });

  it('follows the rates of the personas file, and the default for unlisted triggers', () => {
    const model = buildModel(variantConfig(['cart_abandoned: { baseRate: 0.12, uplift: 0.1,', 'cart_abandoned: { baseRate: 0.5, uplift: -0.3,']));
    const p = createPopulation({ seed: 51, people: 2_000, model });
    const responder = new OutcomeResponder(p);
    let treated = 0;
    let unlisted = 0;
    for (let i = 0; i < 3_000; i++) {
      const cause = events[i % events.length]!;
      if (responder.respondToCommand(command(cause, i)).some((t) => t.eventType === 'converted')) treated++;
      if (responder.respondToCommand(command(cause, 10_000 + i, 'some_new_trigger')).some((t) => t.eventType === 'converted')) unlisted++;
    }
    expect(treated / 3_000).toBeGreaterThan(0.2 - 0.025);
    expect(treated / 3_000).toBeLessThan(0.2 + 0.025);
    expect(unlisted / 3_000).toBeGreaterThan(0.02 - 0.01);
    expect(unlisted / 3_000).toBeLessThan(0.02 + 0.01);
  });

  it('reports delivered, shown, clicked, converted or dismissed after the command, on the cause`s identifier', () => {
    const responder = new OutcomeResponder(population);
    const answers = events.slice(0, 1_000).map((c, i) => ({ cause: c, cmd: command(c, i), out: responder.respondToCommand(command(c, i)) }));
    for (const { cause, cmd, out } of answers) {
      for (let k = 0; k < out.length; k++) {
        const t = out[k]!;
        expect(t.outcome).toEqual({ commandId: cmd.commandId, triggerId: 'cart_abandoned' });
        expect(t.occurredAt).toBeGreaterThan(cmd.createdAt);
        if (k > 0) expect(t.occurredAt).toBeGreaterThanOrEqual(out[k - 1]!.occurredAt);
        expect(t.channel).toBe('email');
        // the cause's strongest identifier: a web page view carries the cookie (anonymous) or the customer id first (logged in)
        expect(cause.identifiers.map((i) => i.value)).toContain(t.identifiers[0]!.value);
      }
      if (out.some((t) => t.eventType === 'converted')) expect(out.map((t) => t.eventType)).toEqual(['delivered', 'shown', 'clicked', 'converted']);
    }
    const types = new Set(answers.flatMap((a) => a.out.map((t) => t.eventType)));
    expect(types).toEqual(new Set(['delivered', 'shown', 'clicked', 'converted', 'dismissed']));
    const ids = answers.flatMap((a) => a.out.map((t) => t.eventId));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('reports a held-out person`s conversion as the trigger`s conversion event, without a command id', () => {
    const responder = new OutcomeResponder(population);
    const conversions = events.slice(0, 1_000).flatMap((c, i) => responder.respondToDecision(decision(c, i, 'held_out', 'card_churn_retention')));
    expect(conversions.length).toBeGreaterThan(250);
    expect(conversions.every((t) => t.eventType === 'card_used' && t.channel === 'transaction' && t.outcome === null)).toBe(true);
    const purchases = events.slice(0, 300).flatMap((c, i) => responder.respondToDecision(decision(c, 5_000 + i)));
    expect(purchases.every((t) => t.eventType === 'purchase' && t.amount !== null)).toBe(true);
  });

  it('answers each id once, ignores other decisions and causes it does not know', () => {
    const responder = new OutcomeResponder(population);
    const cmd = command(events[1]!, 1);
    responder.respondToCommand(cmd);
    expect(responder.respondToCommand(cmd)).toEqual([]);
    expect(responder.respondToDecision(decision(events[2]!, 2, 'capped'))).toEqual([]);
    expect(responder.respondToCommand({ ...cmd, commandId: 'x', trace: { causeEventIds: ['zzzz.1.2.c', 'not-ours'] } })).toEqual([]);
    expect(responder.stats).toMatchObject({ commands: 1, duplicates: 1, ignoredDecisions: 1, unknownPerson: 1 });
  });

  it('answers at the exposure time plus the person`s delays, however far the simulation has run ahead, and measures the lateness', () => {
    const responder = new OutcomeResponder(population);
    const cause = events[3]!;
    const plain = commandOutcomes(population, command(cause, 3))!;
    const clock = cause.occurredAt + 5 * HOUR;
    expect(responder.respondToCommand(command(cause, 3), clock).map((t) => t.occurredAt)).toEqual(plain.map((t) => t.occurredAt));
    expect(responder.stats.maxLateMs).toBe(clock - plain[0]!.occurredAt);
    const held = events.slice(0, 200).map((c, i) => [decision(c, 9_000 + i, 'held_out', 'card_churn_retention'), c] as const);
    for (const [d] of held) {
      const answer = responder.respondToDecision(d, d.decidedAt + 30 * 24 * HOUR);
      expect(answer).toEqual(decisionOutcomes(population, d));
    }
  });
});
