import { setTimeout as delay } from 'node:timers/promises';

/**
 * Errors worth another try: kafkajs marks most broker-side transients
 * retriable; a group coordinator that is still being elected or loaded
 * (a fresh broker, a new group) is reported as not found.
 */
export function isTransient(error: unknown): boolean {
  const e = error as { retriable?: boolean; name?: string; type?: string };
  return e?.retriable === true || e?.name === 'KafkaJSGroupCoordinatorNotFound' || e?.type === 'COORDINATOR_LOAD_IN_PROGRESS';
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
