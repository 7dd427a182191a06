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

/**
 * Runs a client's operation, throwing the runtime's error that `translate`
 * makes of the client's (each client's folder has its `kafkaError`).
 */
export async function translatingErrors<T>(translate: (error: unknown) => ListeningPostError, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw translate(error);
  }
}
