import { up } from '../../local-stack/stack';
import { createRunDir } from '../support/scratch';

/** Starts the local stack when it is not running; leaves it up for the next run. */
export default async function globalSetup(): Promise<void> {
  // After the stack: its processes must not write under a directory the run removes.
  const started = await up((line) => process.stderr.write(`[stack] ${line}\n`));
  if (started.length > 0) process.stderr.write(`[stack] started ${started.join(', ')}; stop it with npm run stack:down\n`);
  createRunDir();
}
