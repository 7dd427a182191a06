import type { TruthPerson } from '../../simulator/truth';

/**
 * A person of the simulator's ground truth with the given identifiers (type,
 * normalised value, provable group: 0 unless given), for tests.
 */
export function truthPerson(id: string, identifiers: readonly (readonly [string, string, number?])[]): TruthPerson {
  return {
    id,
    persona: 'test',
    business: 'bank',
    customer: true,
    atRisk: false,
    household: null,
    timeZone: 'Europe/Dublin',
    identifiers: identifiers.map(([type, value, group = 0]) => ({ type, value, group })),
  };
}
