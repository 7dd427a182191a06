import { ListeningPostError } from '../errors';

/**
 * - `fenced`: a newer owner of the task took its transactional id; this
 *   instance must drop the task.
 * - `kafka-unavailable`: a broker, leader or coordinator is briefly out of
 *   reach or not ready; the same request may succeed later.
 * - `offset-out-of-range`: the offset asked for is no longer (or not yet)
 *   in the log.
 * - `kafka-authentication`: the broker refused the client's credentials
 *   (SASL); trying again with the same ones cannot help.
 * - `kafka`: anything else the broker or client refused.
 */
export type KafkaErrorKind = 'fenced' | 'kafka-unavailable' | 'offset-out-of-range' | 'kafka-authentication' | 'kafka';

/** A Kafka request failed. The client's own error is the `cause`. */
export class KafkaError extends ListeningPostError {
  override name = 'KafkaError';

  constructor(
    readonly kind: KafkaErrorKind,
    readonly retriable: boolean,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

interface ClientError {
  name?: string;
  type?: string;
  retriable?: boolean;
  message?: string;
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
  if (e.retriable === true || e.name === 'KafkaJSGroupCoordinatorNotFound' || e.type === 'COORDINATOR_LOAD_IN_PROGRESS') {
    return new KafkaError('kafka-unavailable', true, message, { cause: error });
  }
  return new KafkaError('kafka', false, message, { cause: error });
}
