import type { TruthPerson } from '../../simulator/truth';

/** A person of the simulator's ground truth with the given identifiers (type, normalised value), for tests. */
export function truthPerson(id: string, identifiers: readonly [string, string][]): TruthPerson {
  return {
    id,
    persona: 'test',
    business: 'bank',
    customer: true,
    atRisk: false,
    household: null,
    timeZone: 'Europe/Dublin',
    identifiers: identifiers.map(([type, value]) => ({ type, value, group: 0 })),
  };
}
