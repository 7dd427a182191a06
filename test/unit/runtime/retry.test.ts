import { withRetries } from '../../../runtime/kafka/kafkajs/retry';
import { eventually } from '../../../runtime/retry';

describe('eventually', () => {
  it('tries until the probe gives a value', async () => {
    let tries = 0;
    await expect(eventually(async () => ++tries >= 3 && 'done', 'three tries', 5_000, 10)).resolves.toBe('done');
    expect(tries).toBe(3);
  });

  it('names what it waited for when time runs out', async () => {
    await expect(eventually(async () => false, 'a thing that never happens', 100, 20)).rejects.toThrow('timed out after 100ms waiting for a thing that never happens');
  });

  it('takes the errors retryOn accepts as "not yet", throws others at once, and throws the last accepted one at the deadline', async () => {
    let tries = 0;
    const flaky = async () => {
      if (++tries < 3) throw new Error('busy');
      return true;
    };
    await expect(eventually(flaky, 'a flaky call', 5_000, 10, () => true)).resolves.toBe(true);
    await expect(eventually(async () => Promise.reject(new Error('broken')), 'a broken call', 5_000, 10)).rejects.toThrow('broken');
    await expect(eventually(async () => Promise.reject(new Error('still busy')), 'a busy call', 100, 20, () => true)).rejects.toThrow('still busy');
  });
});

describe('withRetries', () => {
  it('returns what the operation returns, undefined included', async () => {
    await expect(withRetries(async () => undefined)).resolves.toBeUndefined();
  });
});
