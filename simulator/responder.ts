import { touchpoint, type Identifier, type Touchpoint } from '../processors/model/touchpoint';
import type { TriggerModel } from './model';
import { anonymousId, type Person, type Population } from './population';
import { Rng, seedFor } from './random';
import { priceOf } from './sessions';

/**
 * The simulated people's answer to engagement. The model (also in
 * simulator/README.md, "Outcome model"):
 *
 * - A command sent to a person converts with probability
 *   baseRate + uplift of its trigger; a person held out (a decision whose
 *   outcome is in `outcomes.respondToDecisions`, by default held_out)
 *   converts with baseRate. The draw is the first number of a PRNG seeded
 *   by (seed, command or decision id): the same id always gets the same
 *   answer, and a treated person who would have converted anyway converts.
 * - Treated: `delivered`, `shown`, `clicked` (always when converting, else
 *   by the configured shares), then `converted` or sometimes `dismissed`,
 *   each carrying outcome {commandId, triggerId}, on the command's channel.
 * - Control: the trigger's conversionEvent (e.g. purchase, card_used) on
 *   its conversionChannel, without a command id (attributed by the
 *   engine's window, as a channel would report it).
 * - Identifiers: the strongest identifier of the touchpoint that caused
 *   the command (the event id says which), so the outcome reaches the
 *   profile the command came from.
 */

/** What the responder reads from an engagement command (schemas/EngagementCommand.avsc). */
export interface CommandLike {
  commandId: string;
  triggerId: string;
  channel: string;
  action?: string;
  createdAt: number;
  expiresAt: number;
  trace: { causeEventIds: readonly string[] };
}

/** What the responder reads from an engagement decision (schemas/EngagementDecision.avsc). */
export interface DecisionLike {
  decisionId: string;
  triggerId: string;
  outcome: string;
  decidedAt: number;
  trace: { causeEventIds: readonly string[] };
}

export interface ResponderStats {
  commands: number;
  converted: number;
  dismissed: number;
  decisions: number;
  controlConverted: number;
  /** Decisions whose outcome the responder does not answer (not in respondToDecisions). */
  ignoredDecisions: number;
  /** Commands or decisions whose cause is not a touchpoint of this population. */
  unknownPerson: number;
  /** The same command or decision id again (at-least-once delivery): answered once. */
  duplicates: number;
  /**
   * Largest lag of an answer's first event behind the simulated clock when
   * it was given (ms): how late, in event time, the engine receives it.
   */
  maxLateMs: number;
}

export interface ParsedEventId {
  tag: string;
  person: number;
  /** Sequence number, or an outcome's name. */
  seq: string;
  /** The strongest identifier of the touchpoint: c, k, e, p, d<device>, a<device>-<generation>, x. */
  route: string;
}

/** Splits a simulator event id `<tag>.<person>.<seq>.<route>`; null for anything else. */
export function parseEventId(eventId: string): ParsedEventId | null {
  const a = eventId.indexOf('.');
  const b = a < 0 ? -1 : eventId.indexOf('.', a + 1);
  const c = eventId.lastIndexOf('.');
  if (a <= 0 || b < 0 || c <= b) return null;
  const person = eventId.slice(a + 1, b);
  if (!/^\d+$/.test(person)) return null;
  return { tag: eventId.slice(0, a), person: Number(person), seq: eventId.slice(b + 1, c), route: eventId.slice(c + 1) };
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const NO_ATTRIBUTES: Record<string, string> = Object.freeze({}) as Record<string, string>;

export class OutcomeResponder {
  readonly stats: ResponderStats = {
    commands: 0,
    converted: 0,
    dismissed: 0,
    decisions: 0,
    controlConverted: 0,
    ignoredDecisions: 0,
    unknownPerson: 0,
    duplicates: 0,
    maxLateMs: 0,
  };
  private readonly answered = new Set<string>();
  private readonly decisionOutcomes: ReadonlySet<string>;

  constructor(readonly population: Population) {
    this.decisionOutcomes = new Set(population.model.config.outcomes.respondToDecisions);
  }

  /**
   * The outcome touchpoints of a command, in time order, at the command's
   * time plus the person's delays: treated and held-out people answer
   * alike relative to their exposure, so a simulation running ahead of
   * the engine delivers answers late but never moves them (a moved
   * conversion could leave its attribution window and bias the lift).
   * `clock` (event time) only measures that lateness. A command id seen
   * before gets [] (it was answered).
   */
  respondToCommand(command: CommandLike, clock?: number): Touchpoint[] {
    if (this.answered.has(command.commandId)) {
      this.stats.duplicates++;
      return [];
    }
    const events = commandOutcomes(this.population, command);
    if (events === null) {
      this.stats.unknownPerson++;
      return [];
    }
    this.answered.add(command.commandId);
    this.stats.commands++;
    for (const e of events) {
      if (e.eventType === 'converted') this.stats.converted++;
      else if (e.eventType === 'dismissed') this.stats.dismissed++;
    }
    return this.late(events, clock);
  }

  /** A person not engaged: held out (or another configured outcome) converts at the base rate. */
  respondToDecision(decision: DecisionLike, clock?: number): Touchpoint[] {
    if (!this.decisionOutcomes.has(decision.outcome)) {
      this.stats.ignoredDecisions++;
      return [];
    }
    if (this.answered.has(decision.decisionId)) {
      this.stats.duplicates++;
      return [];
    }
    const events = decisionOutcomes(this.population, decision);
    if (events === null) {
      this.stats.unknownPerson++;
      return [];
    }
    this.answered.add(decision.decisionId);
    this.stats.decisions++;
    this.stats.controlConverted += events.length;
    return this.late(events, clock);
  }

  private late(events: Touchpoint[], clock: number | undefined): Touchpoint[] {
    if (clock !== undefined && events.length > 0) this.stats.maxLateMs = Math.max(this.stats.maxLateMs, clock - events[0]!.occurredAt);
    return events;
  }
}

/** The trigger's true parameters (the default for triggers the personas file does not list). */
export function triggerTruth(population: Population, triggerId: string): TriggerModel {
  return population.model.triggers.get(triggerId) ?? population.model.defaultTrigger;
}

/** Who caused it, and on which identifier: from the newest cause event of this population. */
function causeOf(population: Population, causeEventIds: readonly string[]): { person: Person; route: string } | null {
  for (let i = causeEventIds.length - 1; i >= 0; i--) {
    const parsed = parseEventId(causeEventIds[i]!);
    if (parsed === null || parsed.tag !== population.tag) continue;
    const person = population.persons[parsed.person];
    if (person) return { person, route: parsed.route };
  }
  return null;
}

/** Pure: the outcome touchpoints of one command (null when its cause is not ours). */
export function commandOutcomes(population: Population, command: CommandLike): Touchpoint[] | null {
  const cause = causeOf(population, command.trace.causeEventIds);
  if (cause === null) return null;
  const { person, route } = cause;
  const outcomes = population.model.config.outcomes;
  const trigger = triggerTruth(population, command.triggerId);
  const rng = new Rng(seedFor(population.seed, `command:${command.commandId}`));
  const converts = rng.next() < trigger.baseRate + trigger.uplift;
  const delivered = converts || rng.chance(outcomes.deliveredShare);
  const shown = converts || (delivered && rng.chance(outcomes.shownShare));
  const clicked = converts || (shown && rng.chance(outcomes.clickShare));
  const dismissed = !converts && shown && !clicked && rng.chance(outcomes.dismissShare);
  const ids = routeIdentifiers(person, route);
  const outcome = Object.freeze({ commandId: command.commandId, triggerId: command.triggerId });
  const latest = Math.max(command.createdAt, command.expiresAt);
  const events: Touchpoint[] = [];
  const make = (eventType: string, at: number): Touchpoint =>
    touchpoint({
      eventId: `${person.eventPrefix}${command.commandId}:${eventType}.${route}`,
      occurredAt: at,
      channel: command.channel,
      eventType,
      identifiers: ids,
      outcome,
      attributes: NO_ATTRIBUTES,
    });
  let t = command.createdAt;
  if (delivered) events.push(make('delivered', (t += rng.intBetween(1, 20) * SECOND)));
  if (shown) events.push(make('shown', (t = Math.min(latest, t + rng.intBetween(1, 300) * SECOND))));
  if (clicked) events.push(make('clicked', (t = Math.min(latest, t + rng.intBetween(2, 120) * SECOND))));
  if (dismissed) events.push(make('dismissed', Math.min(latest, t + rng.intBetween(2, 60) * SECOND)));
  if (converts) {
    const at = Math.max(t + MINUTE, command.createdAt + rng.intBetween(trigger.delayMinMs, trigger.delayMaxMs));
    events.push(make('converted', at));
  }
  return events;
}

/** Pure: the conversion (or nothing) of a person who was not engaged. */
export function decisionOutcomes(population: Population, decision: DecisionLike): Touchpoint[] | null {
  const cause = causeOf(population, decision.trace.causeEventIds);
  if (cause === null) return null;
  const { person, route } = cause;
  const trigger = triggerTruth(population, decision.triggerId);
  const rng = new Rng(seedFor(population.seed, `decision:${decision.decisionId}`));
  if (!(rng.next() < trigger.baseRate)) return [];
  const at = decision.decidedAt + rng.intBetween(trigger.delayMinMs, trigger.delayMaxMs);
  const eventType = trigger.conversionEvent;
  const isOutcome = eventType === 'converted';
  return [
    {
      eventId: `${person.eventPrefix}${decision.decisionId}:${eventType}.${route}`,
      occurredAt: at,
      receivedAt: null,
      channel: trigger.conversionChannel,
      eventType,
      identifiers: routeIdentifiers(person, route),
      authenticated: false,
      sessionId: null,
      page: null,
      searchTerms: null,
      amount: eventType === 'purchase' ? { minorUnits: priceOf(decision.triggerId), currency: population.model.currency } : null,
      balance: null,
      source: null,
      consent: null,
      outcome: isOutcome ? { commandId: null, triggerId: decision.triggerId } : null,
      timeZone: null,
      attributes: NO_ATTRIBUTES,
    },
  ];
}

/**
 * The identifier a route code names (normalised value: the engine hashes
 * it to the same key as the raw spelling the cause carried). Unknown or
 * malformed routes fall back to the person's strongest identifier.
 */
export function routeIdentifiers(person: Person, route: string): Identifier[] {
  const one = (type: string, value: string): Identifier[] => Object.freeze([{ type, value }]) as Identifier[];
  switch (route[0]) {
    case 'c':
      if (person.customerId) return one('customer_id', person.customerId.value);
      break;
    case 'k':
      if (person.cardToken) return one('card_token', person.cardToken.value);
      break;
    case 'e':
      if (person.email) return one('email', person.email.value);
      break;
    case 'p':
      if (person.phone) return one('phone', person.phone.value);
      break;
    case 'd': {
      const device = person.devices[Number(route.slice(1))];
      if (device?.deviceId) return one('device_id', device.deviceId.value);
      break;
    }
    case 'a': {
      const [d, g] = route.slice(1).split('-').map(Number);
      const device = person.devices[d!];
      if (device && Number.isInteger(g)) return one('anonymous_id', anonymousId(device.anonSeed, g!));
      break;
    }
  }
  const strongest = person.customerId ?? person.email ?? person.phone ?? person.cardToken ?? person.devices[0]!.anon;
  return one(strongest.type, strongest.value);
}
