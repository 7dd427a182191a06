import { up } from '../../local-stack/stack';

/** Starts the local stack when it is not running; leaves it up for the next run. */
export default async function globalSetup(): Promise<void> {
  const started = await up((line) => process.stderr.write(`[stack] ${line}\n`));
  if (started.length > 0) process.stderr.write(`[stack] started ${started.join(', ')}; stop it with npm run stack:down\n`);
}
