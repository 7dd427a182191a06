import '../../../runtime/kafka/kafkajs/patch';
import { encodeProduceRequestBody, type ProduceRequestBody } from '../../../runtime/kafka/kafkajs/produce-request';

/**
 * The engine's Produce encoder must write exactly what kafkajs's own
 * encoder writes (the broker checks each batch's CRC, sizes and varints).
 */
type Encode = (body: ProduceRequestBody) => { encode(): Promise<{ buffer: Buffer }> };
const kafkajsV3 = require('kafkajs/src/protocol/requests/produce/v3/request') as Encode;
const produce = require('kafkajs/src/protocol/requests/produce') as {
  protocol(options: { version: number }): (body: ProduceRequestBody) => { request: { apiVersion: number; encode(): Promise<{ buffer: Buffer; buf: Buffer; offset: number }> } };
};
const Long = require('kafkajs/src/utils/long') as { fromValue(value: unknown): { toString(): string } };

const NOW = 1_765_000_000_000;

function body(overrides: Partial<ProduceRequestBody> = {}): ProduceRequestBody {
  const big = Buffer.alloc(3000, 7);
  return {
    acks: -1,
    timeout: 30_000,
    transactionalId: 'lp-app-0_3',
    producerId: Long.fromValue(4242),
    producerEpoch: 3,
    topicData: [
      {
        topic: 'touchpoints.resolved',
        partitions: [
          {
            partition: 2,
            firstSequence: 17,
            messages: [
              { key: Buffer.from('p-1'), value: Buffer.from('one'), timestamp: NOW - 86_400_000 * 400, headers: {} },
              { key: null, value: big, timestamp: String(NOW), headers: { 'lp.kind': 'dlq', 'lp.many': [Buffer.from('a'), 'bé'] } },
              { key: 'ключ', value: null, timestamp: NOW - 5 },
            ],
          },
          { partition: 0, messages: [{ key: Buffer.alloc(0), value: Buffer.alloc(0), timestamp: NOW }] },
        ],
      },
      { topic: 'lp-app-profiles-changelog', partitions: [{ partition: 1, messages: Array.from({ length: 300 }, (_, i) => ({ key: `k${i}`, value: Buffer.alloc(i * 13, i), timestamp: NOW + i * 1_000_003 })) }] },
    ],
    ...overrides,
  };
}

describe('Produce request encoder', () => {
  beforeEach(() => jest.spyOn(Date, 'now').mockReturnValue(NOW));
  afterEach(() => jest.restoreAllMocks());

  it.each([
    ['transactional', body()],
    ['idempotent, not transactional', body({ transactionalId: null, producerId: -1, producerEpoch: 0 })],
    ['messages without timestamps', body({ topicData: [{ topic: 't', partitions: [{ partition: 0, messages: [{ key: 'a', value: 'b' }, { key: 'c', value: 'd', timestamp: null }] }] }] })],
  ])('writes the bytes kafkajs writes: %s', async (_case, request) => {
    const expected = (await kafkajsV3(request).encode()).buffer;
    expect(encodeProduceRequestBody(request).equals(expected)).toBe(true);
  });

  it('is what kafkajs encodes Produce requests with, from version 3 on (the patch reaches jest\'s module registry too)', async () => {
    const request = body();
    const expected = (await kafkajsV3(request).encode()).buffer;
    for (const version of [3, 5, 7]) {
      const definition = produce.protocol({ version })(request).request;
      expect(definition.apiVersion).toBe(version);
      const encoded = await definition.encode();
      expect(encoded.buffer.equals(expected)).toBe(true);
      // kafkajs's encoders grow by powers of two; this one is written at its exact size
      expect(encoded.buf.length).toBe(encoded.offset);
      expect(Math.log2(encoded.offset) % 1).not.toBe(0);
    }
  });

  it('refuses a timestamp delta it cannot encode exactly', () => {
    const request = body({ topicData: [{ topic: 't', partitions: [{ partition: 0, messages: [{ value: 'a', timestamp: 1 }, { value: 'b', timestamp: 2 ** 53 }] }] }] });
    expect(() => encodeProduceRequestBody(request)).toThrow(/timestamp delta .* out of range/);
  });
});
