import { join } from 'node:path';
import { loadEngineSettings } from '../../../config/engine';
import { ConfigError } from '../../../runtime/errors';

const ENGINE = join(__dirname, '../../../config/engine.yaml');

describe('config/engine.yaml with environment overrides', () => {
  it('applies overrides, typed like the file', () => {
    const settings = loadEngineSettings(ENGINE, { LP_COMMIT_INTERVAL_MS: '250', LP_WALL_CLOCK_PUNCTUATION: 'false', LP_WRITER_ORDER: 'false', LP_WRITER_IDLE_MS: '5000', LP_HTTP_PORT: '9090' });
    expect(settings).toMatchObject({ commitIntervalMs: 250, wallClockPunctuation: false, writerOrder: false, writerIdleMs: 5000, http: { port: 9090 } });
    expect(loadEngineSettings(ENGINE, {}).writerIdleMs).toBe(1000);
  });

  it('runs the tasks\' producers on kafkajs unless LP_PRODUCER_CLIENT names the other client', () => {
    expect(loadEngineSettings(ENGINE, {}).producerClient).toBe('kafkajs');
    expect(loadEngineSettings(ENGINE, { LP_PRODUCER_CLIENT: 'platformatic' }).producerClient).toBe('platformatic');
    expect(() => loadEngineSettings(ENGINE, { LP_PRODUCER_CLIENT: 'librdkafka' })).toThrow(/^LP_PRODUCER_CLIENT: .*producerClient.*must be one of "kafkajs", "platformatic"$/);
  });

  it('names the variable of a bad override, not a line of the file', () => {
    const error = (() => {
      try {
        loadEngineSettings(ENGINE, { LP_PARTITIONS: '8', LP_COMMIT_INTERVAL_MS: 'soon' });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe(`LP_COMMIT_INTERVAL_MS: the environment variable that overrides commitIntervalMs of ${ENGINE}: must be integer, got "soon"`);
    expect(() => loadEngineSettings(ENGINE, { LP_SESSION_TIMEOUT_MS: '1000' })).toThrow(/^LP_SESSION_TIMEOUT_MS: .*sessionTimeoutMs.*must be >= 6000, got 1000$/);
    expect(() => loadEngineSettings(ENGINE, { LP_WALL_CLOCK_PUNCTUATION: 'yes' })).toThrow(/^LP_WALL_CLOCK_PUNCTUATION: .*must be boolean, got "yes"$/);
  });
});
