/**
 * `npm test` runs this first (the `pretest` script): it installs what the
 * tests need beyond node_modules and the local stack, from the project's own
 * files, so a fresh machine needs no manual step: Debian's chromium, for
 * the browser test of the replay report, the tools that check the
 * Kubernetes manifests (deploy/tools.ts) and Python's confluent-kafka.
 */
import { execFileSync } from 'node:child_process';
import { ensureDeployTools } from '../../deploy/tools';
import { CHROMIUM_INSTALL, findChromium } from './chromium';
import { pythonWithKafka } from './python-kafka';

function hasChromium(): boolean {
  try {
    findChromium();
    return true;
  } catch {
    return false;
  }
}

if (!hasChromium()) {
  if (process.getuid?.() !== 0) {
    console.error(`[prepare] chromium is missing and this is not root: run \`sudo ${CHROMIUM_INSTALL}\` (the replay report's browser test needs it)`);
  } else {
    console.error('[prepare] installing chromium for the replay report browser test (apt-get)');
    execFileSync('sh', ['-c', `apt-get update -qq && DEBIAN_FRONTEND=noninteractive ${CHROMIUM_INSTALL}`], { stdio: 'inherit' });
  }
}

// kustomize and kubernetes-validate, for the test of deploy/k8s (deploy/tools.ts pins them), and
// Python's confluent-kafka, for the test of a consumer the project did not write.
ensureDeployTools((line) => console.error(`[prepare] ${line}`));
pythonWithKafka((line) => console.error(`[prepare] ${line}`));
