#!/usr/bin/env node
/**
 * listening-post <command>; `listening-post --help` lists the commands.
 */
import { resolve } from 'node:path';
import { configWarnings, loadProductConfig } from '../config/product';
import { ListeningPostError } from '../runtime/errors';
import { createLogger } from '../runtime/logger';
import { InMemoryRegistry } from '../runtime/serde/registry';
import { stringify } from 'yaml';
import { asyncApiDocument } from '../runtime/asyncapi';
import { SchemaCatalog } from '../runtime/serde/schema-catalog';
import { formatTopology } from '../runtime/topology';
import { buildTopology, SCHEMAS_DIR } from '../topology';
import { assemble, provisionTopics, runEngine } from './app';
import { usageFailure } from './args';
import { LIFT_PLAN_USAGE, liftPlan } from './lift-plan';

// Through the package's own name, so that it resolves from cli/ and from dist/cli/ alike.
const PACKAGE_VERSION = (require('listening-post/package.json') as { version: string }).version;

const USAGE = `usage: listening-post <command>

  run                 run an engine instance (config/engine.yaml, overridden by LP_* variables)
  topics create       create the topology's topics and register their schemas (idempotent)
  topology [--json]   print the dataflow (--json: as data, sub-topologies, nodes, stores and topics)
  asyncapi            print the AsyncAPI 3 document of every topic (YAML): what channels code against
  rules check <dir>   validate a directory of rule and config files (identity, profile, scoring,
                      segments, triggers, engagement) as start-up would, without a broker;
                      exit 1 with the file, path and line of the first problem; likely
                      mistakes it accepts are printed as warnings on stderr
  lift plan --control-rate PERCENT --lift POINTS --holdout PERCENT [--half-width POINTS] [--per-day N]
                      how many people (first exposures) and days a ±2-point (--half-width)
                      95% lift interval needs, fixed-sample and always-valid; --help for more
  --help              this text

Environment: LP_CONFIG_DIR (the rule and config files; default: the package's config/),
LP_KAFKA_BROKERS, LP_REGISTRY_URL, and the LP_* overrides of engine.yaml (README.md,
"Running the engine").`;

/** The rule files of `dir`, checked and wired into the topology as start-up does. */
function checkRules(dir: string): string {
  const config = loadProductConfig(dir);
  for (const warning of configWarnings(config)) console.error(`warning: ${warning}`);
  buildTopology({ appId: 'rules-check', partitions: 1, config, registry: new InMemoryRegistry() });
  return `ok: ${dir} (${config.scoring.scores.length} scores, ${config.segments.segments.length} segments, ${config.triggers.triggers.length} triggers)`;
}

async function main(args: string[]): Promise<number> {
  const [command, sub, operand] = args;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    console.log(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === 'rules' && sub === 'check' && operand !== undefined) {
    console.log(checkRules(resolve(operand)));
    return 0;
  }
  if (command === 'lift' && sub === 'plan') {
    try {
      console.log(liftPlan(args.slice(2)));
      return 0;
    } catch (error) {
      return usageFailure(error, LIFT_PLAN_USAGE);
    }
  }
  const log = createLogger('listening-post');
  const app = () => assemble({ log, configDir: process.env.LP_CONFIG_DIR || undefined });
  if (command === 'topology') {
    const description = app().topology.describe();
    console.log(sub === '--json' ? JSON.stringify(description, null, 2) : formatTopology(description));
    return 0;
  }
  if (command === 'asyncapi') {
    const { topology, kafka } = app();
    const document = asyncApiDocument(topology, SchemaCatalog.load(SCHEMAS_DIR), {
      title: 'Listening Post',
      version: PACKAGE_VERSION,
      description: 'The topics of one Listening Post application: touchpoints in, engagement commands and decisions out, and the engine\'s own.',
      servers: { kafka: { host: kafka.brokers.join(','), description: 'the brokers this instance is configured for (LP_KAFKA_BROKERS)' } },
    });
    process.stdout.write(stringify(document, { lineWidth: 0 }));
    return 0;
  }
  if (command === 'topics' && sub === 'create') {
    const report = await provisionTopics(app());
    for (const t of report.created) console.log(`created  ${t}`);
    for (const t of report.existing) console.log(`exists   ${t}`);
    for (const s of report.schemas) console.log(`schema   ${s.subject} (id ${s.id})`);
    for (const m of report.mismatched) console.error(`MISMATCH ${m.topic}: ${m.problem}`);
    return report.mismatched.length > 0 ? 1 : 0;
  }
  if (command === 'run') {
    const running = await runEngine(app(), log);
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
  console.error(`listening-post: unknown command '${args.join(' ')}'\n\n${USAGE}`);
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
