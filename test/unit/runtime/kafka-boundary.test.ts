import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * The engine reaches Kafka through runtime/kafka/adapter.ts only: each
 * client (and everything that knows its internals) stays in its folder,
 * kafkajs in runtime/kafka/kafkajs/, @platformatic/kafka in
 * runtime/kafka/platformatic/, so changing the client is a change of one
 * folder. The one exception is the engine's choice of its clients.
 */
const RUNTIME = join(__dirname, '..', '..', '..', 'runtime');
const CLIENT_FOLDERS = [join(RUNTIME, 'kafka', 'kafkajs'), join(RUNTIME, 'kafka', 'platformatic')];
const ALLOWED = new Set(["kafka/engine.ts: import { kafkajsClient } from './kafkajs';", "kafka/engine.ts: import { withPlatformaticProducers } from './platformatic';"]);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return CLIENT_FOLDERS.includes(path) ? [] : sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

test('no runtime module outside a client\'s folder imports that client, but the engine its choice of clients', () => {
  const imports = sources(RUNTIME).flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => /(from|require\()\s*'(kafkajs|@platformatic\/kafka|[./]*(kafkajs|platformatic))(\/[^']*)?'/.test(line) || /from '\.\/(kafkajs|platformatic)\//.test(line))
      .map((line) => `${relative(RUNTIME, file)}: ${line.trim()}`),
  );
  expect(imports.filter((line) => !ALLOWED.has(line))).toEqual([]);
  expect(imports).toEqual([...ALLOWED]);
});
