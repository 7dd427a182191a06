/**
 * listening-post <command>
 *
 *   run              run an engine instance (config/engine.yaml + env overrides)
 *   topics create    create the topology's topics and register schemas (idempotent)
 *   topology         print the dataflow
 */
import { ListeningPostError } from '../runtime/errors';
import { createLogger } from '../runtime/logger';
import { assemble, provisionTopics, runEngine } from './app';

async function main(args: string[]): Promise<number> {
  const log = createLogger('listening-post');
  const [command, sub] = args;
  if (command === 'topology') {
    console.log(assemble({ log }).topology.describe());
    return 0;
  }
  if (command === 'topics' && sub === 'create') {
    const report = await provisionTopics(assemble({ log }));
    for (const t of report.created) console.log(`created  ${t}`);
    for (const t of report.existing) console.log(`exists   ${t}`);
    for (const s of report.schemas) console.log(`schema   ${s.subject} (id ${s.id})`);
    for (const m of report.mismatched) console.error(`MISMATCH ${m.topic}: ${m.problem}`);
    return report.mismatched.length > 0 ? 1 : 0;
  }
  if (command === 'run') {
    const running = await runEngine(assemble({ log }), log);
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        log.info({ signal }, 'stopping');
        running.stop().then(resolve, (error: unknown) => {
          log.error({ err: error }, 'stop failed');
          resolve();
        });
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    return 0;
  }
  console.error('usage: listening-post run | topics create | topology');
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    // Config, rule and topology problems are the user's to fix: one clear line, no stack.
    console.error(error instanceof ListeningPostError ? `error: ${error.message}` : error);
    process.exit(1);
  },
);
