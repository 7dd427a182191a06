import type { Admin, Kafka } from '../../runtime/kafka/kafkajs/client';
import { stackEndpoints } from '../../local-stack/settings';
import { NeedleMatcher, piiNeedles, scanTopics, topicsToScan } from '../../proof/privacy';
import { createTopics, testKafka, testProducer, uniqueName } from '../support/kafka';
import { truthPerson } from '../support/truth';

/** The privacy proof's topic scan on the real broker: headers, values, exempt topics, aborted transactions. */
jest.setTimeout(60_000);

const EMAIL = 'ann.walsh.q7z2k1@example.ie';
const PHONE = '+353871234567';
const CUSTOMER = 'BQ7Z2-000004217';
const matcher = new NeedleMatcher(
  piiNeedles({
    persons: [
      truthPerson('ann', [
        ['email', EMAIL],
        ['phone', PHONE],
        ['customer_id', CUSTOMER],
      ]),
    ],
  }),
);

describe('scanTopics (local broker)', () => {
  const brokers = stackEndpoints().brokers;
  const prefix = `${uniqueName('privacy')}.`;
  const appId = uniqueName('privacy-app');
  const view = `${prefix}profiles.view`;
  const raw = `${prefix}touchpoints.raw`;
  const changelog = `${appId}-profiles-changelog`;
  let kafka: Kafka;
  let admin: Admin;

  beforeAll(async () => {
    kafka = testKafka('privacy-scan-test');
    admin = kafka.admin();
    await admin.connect();
    await createTopics(admin, [view, raw, changelog], 2);
    const producer = testProducer(kafka);
    await producer.connect();
    await producer.send({
      topic: view,
      messages: [
        { partition: 0, key: 'p-1', value: Buffer.from('{"profileId":"p-1"}'), headers: { 'lp.note': `contact ${EMAIL.toUpperCase()}` } },
        { partition: 1, key: 'p-2', value: Buffer.concat([Buffer.from([0, 0, 0, 0, 7, 0x18]), Buffer.from('087 123 4567'), Buffer.from([0])]) },
      ],
    });
    // raw PII in the channels' own topic is not a leak
    await producer.send({ topic: raw, messages: [{ partition: 0, key: EMAIL, value: Buffer.from(`{"identifiers":[{"type":"email","value":"${EMAIL}"}]}`) }] });
    await producer.disconnect();
    const transactional = kafka.producer({ transactionalId: uniqueName('privacy-tx'), idempotent: true, maxInFlightRequests: 1 });
    await transactional.connect();
    const transaction = await transactional.transaction();
    await transaction.send({ topic: changelog, messages: [{ partition: 0, key: 'p-3', value: Buffer.from(`{"customerId":"${CUSTOMER}"}`) }] });
    await transaction.abort();
    await transactional.disconnect();
  });

  afterAll(async () => {
    await admin.deleteTopics({ topics: [view, raw, changelog] });
    await admin.disconnect();
  });

  it("lists a run's topics without the exempt input topic", async () => {
    expect(await topicsToScan(brokers, { topicPrefix: prefix, appId })).toEqual([changelog, view].sort());
  });

  it('finds a planted e-mail in a header, a phone in a value and, read_uncommitted, a customer id of an aborted transaction', async () => {
    const result = await scanTopics(brokers, [view, changelog], matcher);
    expect(result.hits.map((h) => [h.where, h.needle]).sort()).toEqual(
      [
        [`${view}/0/0 header lp.note @8`, EMAIL],
        [`${view}/1/0 value @6`, '087 123 4567'],
        [`${changelog}/0/0 value @15`, CUSTOMER],
      ].sort(),
    );
    expect(result.scanned).toMatchObject({ records: 3, partitions: 4 });
  });

  it('read_committed skips the aborted record, as the product sees it', async () => {
    const result = await scanTopics(brokers, [view, changelog], matcher, { isolation: 'read_committed' });
    expect(result.hits.map((h) => h.where).sort()).toEqual([`${view}/0/0 header lp.note @8`, `${view}/1/0 value @6`]);
    expect(result.scanned).toMatchObject({ records: 2, partitions: 4 });
  });
});
