import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { assemble, provisionTopics, runEngine, type App } from '../../cli/app';
import { topicNames } from '../../topology';
import { uniqueName } from './kafka';
import { testLog } from './logs';

/**
 * The product's engine in this process, on the real stack, under a fresh
 * app id and topic prefix (logging to reports/test-logs/<appId>.log), with
 * its topics created and its profile API behind `token`.
 */
export async function startProductEngine(
  name: string,
  token: string,
): Promise<{ appId: string; topics: ReturnType<typeof topicNames>; app: App; running: Awaited<ReturnType<typeof runEngine>> }> {
  const appId = uniqueName(name);
  const prefix = `${appId}.`;
  const env = { ...process.env, LP_APP_ID: appId, LP_TOPIC_PREFIX: prefix, LP_HTTP_PORT: '0', LP_STATE_DIR: await mkdtemp(join(tmpdir(), `lp-${name}-`)), LP_PROFILE_API_TOKEN: token };
  const app = assemble({ log: pino({ level: 'silent' }), env });
  await provisionTopics(app, { keepForever: true });
  return { appId, topics: topicNames(prefix), app, running: await runEngine(app, testLog(appId)) };
}

