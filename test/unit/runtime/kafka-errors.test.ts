import { KafkaJSConnectionError, KafkaJSGroupCoordinatorNotFound, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from '../../../runtime/kafka/kafkajs/client';
import { KafkaError } from '../../../runtime/kafka/kafka-errors';
import { kafkaError } from '../../../runtime/kafka/kafkajs/errors';
import { DeserializationError } from '../../../runtime/errors';

/** The client's errors, as the protocol layer of kafkajs builds them from a broker's error code. */
function protocolError(type: string, retriable: boolean): Error {
  return new KafkaJSProtocolError({ type, code: 0, retriable, message: `broker said ${type}` } as unknown as Error);
}

/** What kafkajs's retrier throws when its retries of `error` ran out (kafkajs/src/retry). */
function gaveUpOn(error: Error): Error {
  const Exceeded = KafkaJSNumberOfRetriesExceeded as unknown as new (e: Error, options: { retryCount: number; retryTime: number; cause: Error }) => Error;
  return new Exceeded(error, { retryCount: 5, retryTime: 1_000, cause: error });
}

describe('kafkaError: the client errors the runtime decides on', () => {
  it.each([
    ['a newer producer took the transactional id', protocolError('PRODUCER_FENCED', false), 'fenced', false],
    ['an old epoch', protocolError('INVALID_PRODUCER_EPOCH', false), 'fenced', false],
    ['an offset the log no longer has', protocolError('OFFSET_OUT_OF_RANGE', false), 'offset-out-of-range', false],
    ['a leader that moved', protocolError('NOT_LEADER_OR_FOLLOWER', true), 'kafka-unavailable', true],
    ['a coordinator still loading', protocolError('COORDINATOR_LOAD_IN_PROGRESS', false), 'kafka-unavailable', true],
    ['a group coordinator not elected yet', new (KafkaJSGroupCoordinatorNotFound as unknown as new (message: string) => Error)('no coordinator'), 'kafka-unavailable', true],
    ['a connection refused', new KafkaJSConnectionError('Connection error: connect ECONNREFUSED'), 'kafka-unavailable', true],
    ['a record the broker refuses', protocolError('MESSAGE_TOO_LARGE', false), 'kafka', false],
    ['a client giving up', new KafkaJSNonRetriableError('gave up'), 'kafka', false],
    ['a client giving up on a broker it cannot reach (a restart)', gaveUpOn(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED')), 'kafka-unavailable', true],
  ])('%s', (_, error, kind, retriable) => {
    const mapped = kafkaError(error);
    expect(mapped).toBeInstanceOf(KafkaError);
    expect({ kind: mapped.kind, retriable: mapped.retriable, message: mapped.message }).toEqual({ kind, retriable, message: error.message });
    expect(mapped.cause).toBe(error);
  });

  it("passes the runtime's own errors through", () => {
    const own = new DeserializationError('malformed-record', 'truncated');
    expect(kafkaError(own)).toBe(own);
  });
});
