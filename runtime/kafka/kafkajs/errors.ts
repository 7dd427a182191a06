import { ListeningPostError } from '../../errors';
import { refusedLogin, type KafkaConnection } from '../connection';
import { KafkaError, translatingErrors } from '../kafka-errors';

interface ClientError {
  name?: string;
  type?: string;
  retriable?: boolean;
  message?: string;
  cause?: ClientError;
}

const FENCED = new Set(['PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED']);

/**
 * The runtime's error for a Kafka client's: the one place that knows the
 * client's error names and codes (kafkajs's today), so the rest of the
 * runtime decides on `kind` and `retriable` alone. Errors of the runtime's
 * own pass through.
 */
export function kafkaError(error: unknown): ListeningPostError {
  if (error instanceof ListeningPostError) return error;
  const e = (error ?? {}) as ClientError;
  const message = e.message ?? String(error);
  if (e.type !== undefined && FENCED.has(e.type)) return new KafkaError('fenced', false, message, { cause: error });
  if (e.type === 'OFFSET_OUT_OF_RANGE' || e.name === 'KafkaJSOffsetOutOfRange') return new KafkaError('offset-out-of-range', false, message, { cause: error });
  if (e.name === 'KafkaJSSASLAuthenticationError' || e.type === 'SASL_AUTHENTICATION_FAILED') {
    return new KafkaError('kafka-authentication', false, `Kafka refused the credentials: ${message}`, { cause: error });
  }
  // A group coordinator still being elected or loaded (a fresh broker, a new group) is reported as not found.
  // kafkajs gives up on a broker it cannot reach after its own retries and says so as "non-retriable"
  // around the connection error; the broker may be back in a moment (a restart), so it is not final.
  const gaveUpOnTransient = (e.name === 'KafkaJSNumberOfRetriesExceeded' || e.name === 'KafkaJSNonRetriableError') && e.cause !== undefined && (e.cause.retriable === true || e.cause.name === 'KafkaJSConnectionError');
  if (e.retriable === true || gaveUpOnTransient || e.name === 'KafkaJSGroupCoordinatorNotFound' || e.type === 'COORDINATOR_LOAD_IN_PROGRESS') {
    return new KafkaError('kafka-unavailable', true, message, { cause: error });
  }
  return new KafkaError('kafka', false, message, { cause: error });
}

/** Runs a Kafka operation, throwing the runtime's error (`kafkaError`) for the client's. */
export function withKafkaErrors<T>(operation: () => Promise<T>): Promise<T> {
  return translatingErrors(kafkaError, operation);
}

/** `refusedLogin` for an error straight from kafkajs (tools that call kafkajs themselves). */
export function refusedCredentials(error: unknown, connection: KafkaConnection): KafkaError | undefined {
  return refusedLogin(kafkaError(error), connection);
}
