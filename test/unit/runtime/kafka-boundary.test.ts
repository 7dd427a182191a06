import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * The engine reaches Kafka through runtime/kafka/adapter.ts only: kafkajs
 * (and everything that knows its internals) stays in runtime/kafka/kafkajs/,
 * so changing the client is a change of one folder. The one exception is
 * the engine's choice of its default client.
 */
const RUNTIME = join(__dirname, '..', '..', '..', 'runtime');
const CLIENT_FOLDER = join(RUNTIME, 'kafka', 'kafkajs');
const ALLOWED = new Set(["kafka/engine.ts: import { kafkajsClient } from './kafkajs';"]);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return path === CLIENT_FOLDER ? [] : sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

test('no runtime module outside runtime/kafka/kafkajs/ imports kafkajs, but the engine its default client', () => {
  const imports = sources(RUNTIME).flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => /(from|require\()\s*'(kafkajs|[./]*kafkajs)(\/[^']*)?'/.test(line) || /from '\.\/kafkajs\//.test(line))
      .map((line) => `${relative(RUNTIME, file)}: ${line.trim()}`),
  );
  expect(imports.filter((line) => !ALLOWED.has(line))).toEqual([]);
  expect(imports).toEqual([...ALLOWED]);
});
