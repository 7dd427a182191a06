import { eventually } from '../../retry';
import { kafkaError } from './errors';

/** Errors worth another try: what `kafkaError` calls retriable. */
export function isTransient(error: unknown): boolean {
  return kafkaError(error).retriable;
}

/** Runs `operation`, retrying transient Kafka errors with exponential back-off up to `deadlineMs`; then throws the last one. */
export async function withRetries<T>(operation: () => Promise<T>, deadlineMs = 30_000): Promise<T> {
  // Boxed: the operation's own result may be undefined or false, which `eventually` reads as "not yet".
  const { value } = await eventually(async () => ({ value: await operation() }), 'a Kafka request to succeed', deadlineMs, 1_000, isTransient);
  return value;
}
