import { profileIdFor } from '../../../processors/identity/identifiers';
import { attributeDifferences, productOutputs, type ProductOutputs } from '../../../proof/outputs';
import { identifierKey, MINUTE, T0, productDriver, tp } from '../../support/product';

function outputs(firings: Record<string, { profileId: string; causes: string[] }>, extra: Partial<ProductOutputs> = {}): ProductOutputs {
  return {
    commandIds: [],
    decisionIds: Object.keys(firings),
    decisionOutcomes: {},
    memberships: new Map(),
    views: new Map(),
    clusters: [],
    firings: new Map(Object.entries(firings)),
    rerouted: new Set(),
    merged: new Set(),
    ...extra,
  };
}

describe('what the proof compares', () => {
  it('finds the touchpoints a profile task re-routed and the profiles a merge named', async () => {
    // the identity graph a moment behind the link task: the visitor's next search reaches the merged-away profile
    const driver = await productDriver(4, undefined, { globalTableLag: 1_000 });
    const journey = [
      tp(T0, 'app', 'login', { customer_id: 'CUST-7' }, { authenticated: true }),
      tp(T0 + MINUTE, 'web', 'page_view', { anonymous_id: 'ck-7' }),
      tp(T0 + 2 * MINUTE, 'web', 'login', { customer_id: 'CUST-7', anonymous_id: 'ck-7' }, { authenticated: true }),
    ];
    for (const t of journey) {
      driver.pipe('touchpoints.raw', Buffer.from(t.identifiers[0]!.value), t, { timestamp: t.occurredAt });
      await driver.run();
    }
    const late = tp(T0 + 3 * MINUTE, 'web', 'search', { anonymous_id: 'ck-7' });
    driver.pipe('touchpoints.raw', Buffer.from('ck-7'), late, { timestamp: late.occurredAt });
    await driver.run();

    const out = productOutputs(driver.producedRecords);
    expect([...out.rerouted]).toEqual([late.eventId]);
    expect(out.merged).toEqual(new Set([profileIdFor(identifierKey('customer_id', 'CUST-7')), profileIdFor(identifierKey('anonymous_id', 'ck-7'))]));
  });

  it('says why ids differ: a cause re-routed in either run, else a profile either run merged, else neither', () => {
    const a = outputs({ same: { profileId: 'p1', causes: ['e1'] }, moved: { profileId: 'p2', causes: ['e2'] }, lost: { profileId: 'p3', causes: ['e3'] } }, { rerouted: new Set(['e2']) });
    const b = outputs({ same: { profileId: 'p1', causes: ['e1'] }, other: { profileId: 'p4', causes: ['e4'] } }, { merged: new Set(['p4']) });
    expect(attributeDifferences(a, b)).toEqual({ rerouted: 1, merged: 1, neither: 1, examples: ['lost (p3: e3)'] });
  });
});
