import { setTimeout as delay } from 'node:timers/promises';
import { kafkaError } from './kafka-errors';

/** Errors worth another try: what `kafkaError` calls retriable. */
export function isTransient(error: unknown): boolean {
  return kafkaError(error).retriable;
}

/** Runs `operation`, retrying transient Kafka errors with exponential back-off up to `deadlineMs`. */
export async function withRetries<T>(operation: () => Promise<T>, deadlineMs = 30_000): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (let wait = 50; ; wait = Math.min(wait * 2, 1_000)) {
    try {
      return await operation();
    } catch (error) {
      if (!isTransient(error) || Date.now() + wait > deadline) throw error;
      await delay(wait);
    }
  }
}
