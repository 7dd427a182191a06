import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { StackSettings } from './settings';

const run = promisify(execFile);

/**
 * Apicurio Registry 3.0.9: the newest 3.x that Maven Central serves here and
 * that runs on Java 17 (3.2+ needs Java 21; 3.1.x is not served). Its parent
 * POM is not served either, so Maven cannot resolve the artifact descriptor;
 * the archive itself is fetched from Maven Central and checked against the
 * SHA-1 that Maven Central publishes for it.
 */
export const REGISTRY = {
  version: '3.0.9',
  path: 'io/apicurio/apicurio-registry-app/3.0.9/apicurio-registry-app-3.0.9-all.tar.gz',
  sha1: '4deac01752711c32da5662e7b778b61c5e904746',
  jar: 'apicurio-registry-app-3.0.9-runner.jar',
};

const POM = join(__dirname, 'pom.xml');

/** A problem the user can fix; the CLI prints its message as one line. */
export class StackError extends Error {
  override name = 'StackError';
}

export function javaCommand(): string {
  return process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
}

export async function checkJava(): Promise<void> {
  let output: string;
  try {
    const { stderr, stdout } = await run(javaCommand(), ['-version']);
    output = stderr + stdout;
  } catch {
    throw new StackError(
      'Java 17 or newer is needed for the local stack and none was found: install a JDK (apt-get install openjdk-17-jdk-headless) or set JAVA_HOME',
    );
  }
  const major = Number(/version "(\d+)/.exec(output)?.[1] ?? 0);
  if (major < 17) {
    throw new StackError(`Java ${major} found, but Kafka 4 needs Java 17 or newer: install a JDK 17 or point JAVA_HOME at one`);
  }
}

export async function kafkaVersion(): Promise<string> {
  const pom = await readFile(POM, 'utf8');
  const version = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom)?.[1];
  if (!version) throw new StackError(`${POM}: no <kafka.version> property`);
  return version;
}

async function pomDigest(): Promise<string> {
  return createHash('sha1').update(await readFile(POM)).digest('hex').slice(0, 12);
}

/** The directory holding the broker's jars; installed with Maven on first use. */
export async function installKafka(settings: StackSettings, say: (line: string) => void): Promise<string> {
  const dir = join(settings.cacheDir, `kafka-${await kafkaVersion()}-${await pomDigest()}`);
  const libs = join(dir, 'libs');
  if (existsSync(join(dir, '.installed'))) return libs;
  say(`installing Kafka ${await kafkaVersion()} from Maven Central into ${dir}`);
  try {
    await run('mvn', ['--version']);
  } catch {
    throw new StackError('Maven (mvn) is needed to install Kafka and was not found: apt-get install maven');
  }
  await rm(dir, { recursive: true, force: true });
  try {
    await run('mvn', ['-B', '-q', '-f', POM, 'package', `-Dkafka.libs=${libs}`], { maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const detail = (error as { stdout?: string }).stdout?.split('\n').find((l) => l.includes('ERROR')) ?? String(error);
    throw new StackError(`Maven could not assemble Kafka from ${POM}: ${detail.trim()}`);
  }
  await writeFile(join(dir, '.installed'), new Date().toISOString());
  return libs;
}

function mavenRepository(): string {
  return (process.env.LP_MAVEN_REPOSITORY || 'https://repo.maven.apache.org/maven2').replace(/\/$/, '');
}

async function download(url: string, file: string, sha1: string): Promise<void> {
  const response = await fetch(url).catch((error: unknown) => {
    throw new StackError(`cannot download ${url}: ${String(error)}`);
  });
  if (!response.ok || !response.body) throw new StackError(`cannot download ${url}: HTTP ${response.status}`);
  const part = `${file}.part`;
  const hash = createHash('sha1');
  const body = Readable.fromWeb(response.body as never);
  body.on('data', (chunk: Buffer) => hash.update(chunk));
  await pipeline(body, createWriteStream(part));
  const actual = hash.digest('hex');
  if (actual !== sha1) {
    await rm(part, { force: true });
    throw new StackError(`${url} has SHA-1 ${actual}, expected ${sha1}: the download is corrupt, run the command again`);
  }
  await rename(part, file);
}

/** The directory holding Apicurio's runner jar; downloaded on first use. */
export async function installRegistry(settings: StackSettings, say: (line: string) => void): Promise<string> {
  const dir = join(settings.cacheDir, `apicurio-registry-${REGISTRY.version}`);
  if (existsSync(join(dir, '.installed'))) return dir;
  const archive = join(settings.cacheDir, 'downloads', REGISTRY.path.split('/').pop()!);
  await mkdir(join(settings.cacheDir, 'downloads'), { recursive: true });
  if (!existsSync(archive)) {
    say(`downloading Apicurio Registry ${REGISTRY.version} from Maven Central`);
    await download(`${mavenRepository()}/${REGISTRY.path}`, archive, REGISTRY.sha1);
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await run('tar', ['-xzf', archive, '-C', dir]);
  if (!(await readdir(dir)).includes(REGISTRY.jar)) {
    throw new StackError(`${archive} does not contain ${REGISTRY.jar}: delete it and run the command again`);
  }
  await writeFile(join(dir, '.installed'), new Date().toISOString());
  return dir;
}
