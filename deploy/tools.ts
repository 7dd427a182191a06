/**
 * tsx deploy/tools.ts check
 *
 * The tools that check deploy/k8s, installed from their registries into the
 * project's cache (LP_CACHE_DIR, default ~/.cache/listening-post/tools) on
 * first use: kustomize, built from its Go module, renders the manifests;
 * kubernetes-validate, from PyPI, validates them offline against the
 * Kubernetes API schemas (strict: unknown fields are errors). `check`
 * renders and validates; the tests do the same (test/support/prepare.ts
 * installs the tools before `npm test`).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stackSettings } from '../local-stack/settings';

const KUSTOMIZE_MODULE = 'sigs.k8s.io/kustomize/kustomize/v5@v5.6.0';
const KUBERNETES_VALIDATE = 'kubernetes-validate==1.37.0';
/** The oldest Kubernetes release the manifests must be valid for. */
export const KUBERNETES_VERSION = '1.30';
export const K8S_DIR = join(__dirname, 'k8s');

export interface DeployTools {
  kustomize: string;
  kubernetesValidate: string;
}

/** A program on the PATH, else where the machine's own install puts it (a CI shell may not have the login PATH). */
function program(name: string, fallbacks: string[]): string {
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir && existsSync(join(dir, name))) return join(dir, name);
  const found = fallbacks.find((path) => existsSync(path));
  if (!found) throw new Error(`${name} is not on the PATH (nor at ${fallbacks.join(', ')}): deploy/tools.ts needs it to install its tools`);
  return found;
}

/** Installs what is missing (with Go and Python 3 from the machine); returns the tools' paths. */
export function ensureDeployTools(log: (line: string) => void = () => undefined): DeployTools {
  const dir = join(stackSettings().cacheDir, 'tools');
  const kustomize = join(dir, 'bin', 'kustomize');
  const venv = join(dir, 'kubernetes-validate');
  const kubernetesValidate = join(venv, 'bin', 'kubernetes-validate');
  if (!existsSync(kustomize)) {
    log(`installing ${KUSTOMIZE_MODULE} (go install)`);
    execFileSync(program('go', ['/usr/local/go/bin/go', '/usr/lib/go/bin/go']), ['install', KUSTOMIZE_MODULE], { env: { ...process.env, GOBIN: join(dir, 'bin') }, stdio: 'pipe' });
  }
  if (!existsSync(kubernetesValidate)) pythonVenv(venv, KUBERNETES_VALIDATE, log);
  return { kustomize, kubernetesValidate };
}

/** A Python virtual environment at `dir` with `requirement` installed from PyPI (once); returns its python. */
export function pythonVenv(dir: string, requirement: string, log: (line: string) => void = () => undefined): string {
  const python = join(dir, 'bin', 'python');
  if (existsSync(join(dir, '.installed'))) return python;
  log(`installing ${requirement} (pip, in ${dir})`);
  execFileSync(program('python3', ['/usr/bin/python3']), ['-m', 'venv', dir], { stdio: 'pipe' });
  execFileSync(join(dir, 'bin', 'pip'), ['install', '--quiet', requirement], { stdio: 'pipe' });
  writeFileSync(join(dir, '.installed'), `${requirement}\n`);
  return python;
}

/** The manifests as `kubectl apply -k deploy/k8s` would send them. */
export function renderManifests(tools: DeployTools): string {
  return execFileSync(tools.kustomize, ['build', K8S_DIR], { encoding: 'utf8' });
}

/** Validates rendered manifests (a file); throws with the tool's findings when one does not validate. */
export function validateManifests(tools: DeployTools, file: string): string {
  return execFileSync(tools.kubernetesValidate, ['--strict', '--kubernetes-version', KUBERNETES_VERSION, file], { encoding: 'utf8', stdio: 'pipe' });
}

if (require.main === module) {
  const [command] = process.argv.slice(2);
  if (command !== 'check') {
    console.error('usage: tsx deploy/tools.ts check');
    process.exit(2);
  }
  const tools = ensureDeployTools((line) => console.error(line));
  const file = join(mkdtempSync(join(tmpdir(), 'lp-k8s-')), 'manifests.yaml');
  writeFileSync(file, renderManifests(tools));
  try {
    process.stdout.write(validateManifests(tools, file));
  } catch (error) {
    process.stderr.write(String((error as { stdout?: string }).stdout ?? error));
    process.exit(1);
  }
}
