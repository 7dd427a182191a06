import { setTimeout as delay } from 'node:timers/promises';
import { formatDuration } from '../config/duration';

/**
 * Tries `probe` until it gives a value (anything but undefined or false),
 * waiting 50 ms between tries, twice as long each time up to
 * `maxIntervalMs`. This waits for a real state (offsets, records, a ready
 * service), never for an amount of time standing in for one.
 *
 * An error `retryOn` accepts counts as "not yet"; any other error is thrown
 * at once. After `timeoutMs` it throws the last accepted error if the last
 * try failed (the cause is more useful than "timed out"), else an error
 * naming `what` it waited for.
 */
export async function eventually<T>(
  probe: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 120_000,
  maxIntervalMs = 500,
  retryOn: (error: unknown) => boolean = () => false,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = Math.min(50, maxIntervalMs); ; wait = Math.min(wait * 2, maxIntervalMs)) {
    let failure: { error: unknown } | undefined;
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      if (!retryOn(error)) throw error;
      failure = { error };
    }
    const left = deadline - Date.now();
    if (left <= 0) throw failure ? failure.error : new Error(`timed out after ${formatDuration(timeoutMs)} waiting for ${what}`);
    // The last try lands on the deadline, not a whole interval before or after it.
    await delay(Math.min(wait, left));
  }
}
