import type { ProfileEvent } from '../../../processors/model/profile-event';
import type { ProfileEntry } from '../../../processors/model/profile-state';
import { profileIdFor } from '../../../processors/identity/identifiers';
import { PROFILES_STORE } from '../../../processors/stores';
import { identifierKey, MINUTE, T0, productDriver, tp } from '../../support/product';

/**
 * Live, the identity graph every resolver reads is a moment behind the link
 * task. The driver can hold its updates back (`globalTableLag`): a touchpoint
 * of a merged-away visitor is then resolved to the old profile, and the
 * profile task re-addresses it to the survivor, which ends as it does when
 * the graph is current.
 */
describe('the product with an identity graph behind the link task', () => {
  const customer = identifierKey('customer_id', 'CUST-7');
  const cookie = identifierKey('anonymous_id', 'ck-7');
  const known = profileIdFor(customer);
  const visitor = profileIdFor(cookie);

  const first = [
    tp(T0, 'app', 'login', { customer_id: 'CUST-7' }, { authenticated: true }),
    tp(T0 + MINUTE, 'web', 'page_view', { anonymous_id: 'ck-7' }),
    tp(T0 + 2 * MINUTE, 'web', 'login', { customer_id: 'CUST-7', anonymous_id: 'ck-7' }, { authenticated: true }),
  ];
  const late = tp(T0 + 3 * MINUTE, 'web', 'search', { anonymous_id: 'ck-7' }, { searchTerms: 'mortgage' });

  async function run(globalTableLag: number) {
    const driver = await productDriver(4, undefined, { globalTableLag });
    for (const t of first) {
      driver.pipe('touchpoints.raw', Buffer.from(t.identifiers[0]!.value), t, { timestamp: t.occurredAt });
      await driver.run();
    }
    driver.pipe('touchpoints.raw', Buffer.from('ck-7'), late, { timestamp: late.occurredAt });
    await driver.run();
    const routed = driver
      .output<string, ProfileEvent>('touchpoints.resolved')
      .filter((o) => o.value?.body.kind === 'touchpoint' && o.value.body.touchpoint.eventId === late.eventId)
      .map((o) => o.key);
    return { routed, survivor: await driver.storeValue<ProfileEntry>(PROFILES_STORE, known), visitor: await driver.storeValue<ProfileEntry>(PROFILES_STORE, visitor) };
  }

  it('re-addresses a touchpoint resolved before the merge reached the graph, and ends in the same profile', async () => {
    const current = await run(0);
    const behind = await run(1_000);
    expect(current.routed).toEqual([known]);
    expect(behind.routed).toEqual([visitor, known]);
    expect(behind.visitor).toMatchObject({ mergedInto: known });
    expect(behind.survivor).toEqual(current.survivor);
  });
});
