import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { ensureDeployTools, K8S_DIR, renderManifests, validateManifests } from '../../deploy/tools';
import { startProductEngine } from '../support/engine';

/**
 * deploy/k8s as `kubectl apply -k` would send it: rendered by kustomize,
 * valid against the Kubernetes API schemas (kubernetes-validate, strict),
 * and pointing at what the engine really has: its environment variables,
 * its HTTP port, its probe and metrics paths, its state directory.
 */
jest.setTimeout(180_000);

const ROOT = join(__dirname, '..', '..');
const tools = ensureDeployTools();
const rendered = renderManifests(tools);
const resources = parseAllDocuments(rendered).map((d) => d.toJSON() as K8sResource);

interface K8sResource {
  kind: string;
  metadata: { name: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  spec: Record<string, unknown>;
}
interface Container {
  args: string[];
  ports: { name: string; containerPort: number }[];
  env: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  readinessProbe: { httpGet: { path: string; port: string } };
  livenessProbe: { httpGet: { path: string; port: string } };
  volumeMounts: { name: string; mountPath: string }[];
}

function one(kind: string, name?: string): K8sResource {
  const found = resources.filter((r) => r.kind === kind && (name === undefined || r.metadata.name === name));
  expect(found).toHaveLength(1);
  return found[0]!;
}

const statefulSet = one('StatefulSet');
const template = statefulSet.spec.template as { metadata: { labels: Record<string, string>; annotations: Record<string, string> }; spec: { containers: Container[]; terminationGracePeriodSeconds: number } };
const engine = template.spec.containers[0]!;
const env = new Map(engine.env.map((e) => [e.name, e]));

/** The production sources (what `npm run build` compiles, and the config files it ships). */
function productionSources(): string {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(ts|yaml)$/.test(entry)) files.push(path);
    }
  };
  for (const dir of ['cli', 'runtime', 'config', 'processors', 'api', 'replay']) walk(join(ROOT, dir));
  files.push(join(ROOT, 'local-stack', 'settings.ts'), join(ROOT, 'topology.ts'));
  return files.map((f) => readFileSync(f, 'utf8')).join('\n');
}

test('kustomize renders the manifests, and they validate against the Kubernetes API schemas', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'lp-k8s-')), 'manifests.yaml');
  writeFileSync(file, rendered);
  const report = validateManifests(tools, file);
  for (const resource of resources) expect(report).toContain(`passed for resource ${resource.kind.toLowerCase()}/${resource.metadata.name}`);
  // The validator does validate: a port that is not a number fails.
  writeFileSync(file, rendered.replace(/containerPort: 8080/, 'containerPort: http'));
  expect(() => validateManifests(tools, file)).toThrow();
  expect(resources.map((r) => r.kind).sort()).toEqual(['PodDisruptionBudget', 'Service', 'Service', 'StatefulSet']);
});

test('every environment variable of the engine container is one the engine reads, and the secrets come from the Secret', () => {
  const sources = productionSources();
  for (const name of env.keys()) {
    if (name === 'POD_IP') continue; // the downward API's, used inside LP_HTTP_ADVERTISED_HOST
    const read = new RegExp(`(['"\`]${name}['"\`]|env\\.${name}\\b|:\\s*${name}\\s*$)`, 'm').test(sources);
    expect({ name, read }).toEqual({ name, read: true });
  }
  const secret = parse(readFileSync(join(K8S_DIR, 'secret.example.yaml'), 'utf8')) as { metadata: { name: string }; stringData: Record<string, string> };
  for (const name of ['LP_KAFKA_SASL_PASSWORD', 'LP_IDENTITY_SECRET', 'LP_PROFILE_API_TOKEN']) {
    const ref = env.get(name)?.valueFrom?.secretKeyRef;
    expect({ name, secret: ref?.name, key: ref && ref.key in secret.stringData }).toEqual({ name, secret: secret.metadata.name, key: true });
  }
  expect(env.get('LP_HTTP_ADVERTISED_HOST')?.value).toBe('$(POD_IP)');
});

test('ports, probes, scrape annotations, state volume and selectors fit together and fit the engine', async () => {
  const port = Number(env.get('LP_HTTP_PORT')!.value);
  expect(engine.ports).toEqual([{ name: 'http', containerPort: port }]);
  expect(env.get('LP_HTTP_HOST')!.value).toBe('0.0.0.0');
  expect(template.metadata.annotations).toEqual({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(port), 'prometheus.io/path': '/metrics' });
  expect([engine.readinessProbe.httpGet, engine.livenessProbe.httpGet]).toEqual([{ path: '/readyz', port: 'http' }, { path: '/healthz', port: 'http' }]);
  expect(engine.args).toEqual(['run']);
  expect(engine.volumeMounts).toEqual([{ name: 'state', mountPath: env.get('LP_STATE_DIR')!.value }]);
  expect((statefulSet.spec.volumeClaimTemplates as { metadata: { name: string } }[]).map((c) => c.metadata.name)).toEqual(['state']);
  // Longer than a drain: the batch in hand is finished and committed before the pod goes.
  expect(template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(30);

  const podLabels = template.metadata.labels;
  const selects = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => podLabels[k] === v) && Object.keys(selector).length > 0;
  expect(selects((statefulSet.spec.selector as { matchLabels: Record<string, string> }).matchLabels)).toBe(true);
  expect(selects((one('PodDisruptionBudget').spec.selector as { matchLabels: Record<string, string> }).matchLabels)).toBe(true);
  for (const service of resources.filter((r) => r.kind === 'Service')) {
    expect(selects(service.spec.selector as Record<string, string>)).toBe(true);
    expect(service.spec.ports).toEqual([{ name: 'http', port, targetPort: 'http' }]);
  }
  expect(one('Service', statefulSet.spec.serviceName as string).spec.clusterIP).toBe('None');

  // The paths the probes and the scrape ask for are the engine's.
  const { running } = await startProductEngine('k8s-paths', 'token');
  try {
    for (const path of ['/readyz', '/healthz', '/metrics']) expect({ path, found: (await fetch(`${running.url}${path}`)).status !== 404 }).toEqual({ path, found: true });
  } finally {
    await running.stop();
  }
});
