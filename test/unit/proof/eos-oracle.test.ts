import { describeRecordId } from '../../../proof/eos-oracle';
import { recordMultiset } from '../../../proof/outputs';

describe("the exactly-once oracle's record descriptions", () => {
  it('say topic, partition, key and the whole order key (which task wrote the record, when), then the value in short', () => {
    const value = Buffer.concat([Buffer.from([0, 0, 0, 0, 3]), Buffer.from('k2sc.92.14.e email_open')]);
    const [id] = recordMultiset([{ topic: 'lp.touchpoints.resolved', partition: 3, key: Buffer.from('p-P2aIV1'), value, headers: { 'lp.order': '1741853715763/2_0/464' } }]).keys();
    expect(describeRecordId(id!)).toBe("lp.touchpoints.resolved p3 key 'p-P2aIV1' [lp.order=1741853715763/2_0/464] value 28 B .....k2sc.92.14.e email_open…");
  });

  it('name a null key and a tombstone as such', () => {
    const [id] = recordMultiset([{ topic: 'lp.profiles.view', partition: 0, key: null, value: null, headers: {} }]).keys();
    expect(describeRecordId(id!)).toBe('lp.profiles.view p0 key null value null');
  });
});
