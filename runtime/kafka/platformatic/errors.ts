import { ListeningPostError } from '../../errors';
import { KafkaError, translatingErrors } from '../kafka-errors';

interface ClientError {
  message?: string;
  code?: string;
  apiId?: string;
  canRetry?: boolean;
  errors?: unknown[];
}

const FENCED = new Set(['PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED']);
const UNAVAILABLE = new Set(['PLT_KFK_NETWORK', 'PLT_KFK_TIMEOUT']);

/** Every error `error` stands for: a MultipleErrors of the client holds the ones each broker or retry gave. */
function* leaves(error: unknown): Generator<ClientError> {
  const e = (error ?? {}) as ClientError;
  if (Array.isArray(e.errors) && e.errors.length > 0) for (const inner of e.errors) yield* leaves(inner);
  else yield e;
}

/**
 * The runtime's error for one of @platformatic/kafka's: the one place that
 * knows its error codes (as `kafkajs/errors.ts` is for kafkajs).
 */
export function kafkaError(error: unknown): ListeningPostError {
  if (error instanceof ListeningPostError) return error;
  const message = (error as ClientError | undefined)?.message ?? String(error);
  const all = [...leaves(error)];
  if (all.some((e) => e.apiId !== undefined && FENCED.has(e.apiId))) return new KafkaError('fenced', false, message, { cause: error });
  if (all.some((e) => e.apiId === 'OFFSET_OUT_OF_RANGE')) return new KafkaError('offset-out-of-range', false, message, { cause: error });
  if (all.some((e) => e.code === 'PLT_KFK_AUTHENTICATION' || e.apiId === 'SASL_AUTHENTICATION_FAILED')) {
    return new KafkaError('kafka-authentication', false, `Kafka refused the credentials: ${message}`, { cause: error });
  }
  if (all.every((e) => e.canRetry === true || (e.code !== undefined && UNAVAILABLE.has(e.code)))) return new KafkaError('kafka-unavailable', true, message, { cause: error });
  return new KafkaError('kafka', false, message, { cause: error });
}

/** Runs a Kafka operation, throwing the runtime's error (`kafkaError`) for the client's. */
export function withKafkaErrors<T>(operation: () => Promise<T>): Promise<T> {
  return translatingErrors(kafkaError, operation);
}
