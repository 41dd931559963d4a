/**
 * deploy/ checked without a cluster: every Kubernetes manifest against the Kubernetes OpenAPI
 * schemas (the kubernetes-models package), then what a schema cannot see — selectors and labels,
 * ports, the Indexed Job's shard and start flags, secret and config references, environment
 * variables the server really reads, probe paths the server really answers, npm scripts that
 * exist — and the HAProxy configuration with `haproxy -c`. deploy/README.md says what this
 * does not cover (nothing here is applied to a cluster or built into an image).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { Namespace, Secret, Service, PersistentVolumeClaim, ConfigMap } from 'kubernetes-models/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { DEFAULT_LONG_POLL_MAX_MS, startReferenceServer } from '../../src/server/reference-server.js';
import { MemoryStore } from '../../src/store/memory/index.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const kubeDir = `${repo}deploy/kubernetes/`;
const haproxyConfig = `${repo}deploy/haproxy/haproxy.cfg`;

// Loose shapes: the schemas validate the objects; these name only the fields the checks read.
interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } } }[];
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  containers: Container[];
  volumes?: { name: string; secret?: { secretName: string; defaultMode?: number; items?: { key: string; path: string }[] }; persistentVolumeClaim?: { claimName: string } }[];
}
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: {
    selector?: Record<string, string> & { matchLabels?: Record<string, string> };
    ports?: { name?: string; port: number; targetPort?: string | number }[];
    template?: { metadata?: { labels?: Record<string, string> }; spec: PodSpec };
    serviceName?: string;
    completionMode?: string;
    completions?: number;
    parallelism?: number;
    volumeClaimTemplates?: { metadata: { name: string } }[];
  };
  stringData?: Record<string, string>;
  data?: Record<string, string>;
}

/** The schema validator for each kind the manifests may use. */
const MODELS: Record<string, new (value: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'v1/ConfigMap': ConfigMap,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'batch/v1/Job': Job,
};

function readManifests(file: string): Manifest[] {
  return parseAllDocuments(readFileSync(`${kubeDir}${file}`, 'utf8')).map((document) => {
    assert.deepEqual(document.errors, [], `${file}: YAML errors`);
    return document.toJS() as Manifest;
  });
}

interface Kustomization {
  resources: string[];
  configMapGenerator?: { name: string; envs?: string[]; literals?: string[] }[];
}
const kustomization = parseAllDocuments(readFileSync(`${kubeDir}kustomization.yaml`, 'utf8'))[0]!.toJS() as Kustomization;

/** The ConfigMaps kustomize generates, as plain ConfigMap manifests. */
function generatedConfigMaps(): Manifest[] {
  return (kustomization.configMapGenerator ?? []).map((generator) => {
    const data: Record<string, string> = {};
    const lines = [...(generator.literals ?? []), ...(generator.envs ?? []).flatMap((file) => readFileSync(`${kubeDir}${file}`, 'utf8').split('\n'))];
    for (const line of lines.map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))) {
      const at = line.indexOf('=');
      assert.ok(at > 0, `configMapGenerator ${generator.name}: "${line}" is not KEY=value`);
      data[line.slice(0, at)] = line.slice(at + 1);
    }
    return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: generator.name }, data };
  });
}

const applied = [...kustomization.resources.flatMap(readManifests), ...generatedConfigMaps()];
/** merge-job.yaml is applied by hand after the load Job (deploy/README.md). */
const all = [...applied, ...readManifests('merge-job.yaml')];

function one(kind: string, name: string): Manifest {
  const found = all.filter((m) => m.kind === kind && m.metadata.name === name);
  assert.equal(found.length, 1, `exactly one ${kind} ${name}`);
  return found[0]!;
}

function podSpec(manifest: Manifest): PodSpec {
  const spec = manifest.spec?.template?.spec;
  assert.ok(spec, `${manifest.kind} ${manifest.metadata.name} has a pod template`);
  return spec;
}

const containsLabels = (labels: Record<string, string> | undefined, wanted: Record<string, string>): boolean =>
  Object.keys(wanted).length > 0 && Object.entries(wanted).every(([k, v]) => labels?.[k] === v);

/** SIGLOAD_* / DATABASE_URL names scripts/server.ts reads from its environment. */
function serverEnvironmentNames(): Set<string> {
  const source = readFileSync(`${repo}scripts/server.ts`, 'utf8');
  return new Set([...source.matchAll(/env\[['"]([A-Z_]+)['"]\]/g)].map((m) => m[1]!));
}

test('every manifest is a known kind and valid against the Kubernetes schemas', () => {
  assert.ok(all.length >= 9, `found ${all.length} objects`);
  for (const manifest of all) {
    const Model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
    assert.ok(Model, `${manifest.apiVersion} ${manifest.kind} (${manifest.metadata?.name}) is not a kind deploy/ is meant to use`);
    assert.doesNotThrow(() => new Model(manifest as never).validate(), `${manifest.kind} ${manifest.metadata.name}`);
  }
  // The validator does reject a bad object (so the loop above can fail).
  const broken = structuredClone(one('Deployment', 'sigload-server')) as unknown as { spec: { replicas: unknown } };
  broken.spec.replicas = 'two';
  assert.throws(() => new Deployment(broken as never).validate());
});

test('Services select the pods of their workload, on ports the containers open', () => {
  for (const [serviceName, workloadKind] of [['sigload-server', 'Deployment'], ['sigload-postgres', 'StatefulSet']] as const) {
    const service = one('Service', serviceName);
    const workload = one(workloadKind, serviceName);
    const podLabels = workload.spec?.template?.metadata?.labels;
    assert.ok(containsLabels(podLabels, workload.spec?.selector?.matchLabels ?? {}), `${workloadKind} ${serviceName}: selector matches its pod labels`);
    const { matchLabels: _unused, ...serviceSelector } = service.spec?.selector ?? {};
    assert.ok(containsLabels(podLabels, serviceSelector), `Service ${serviceName} selects the ${workloadKind}'s pods`);
    const containerPorts = podSpec(workload).containers.flatMap((c) => c.ports ?? []);
    for (const port of service.spec?.ports ?? []) {
      const target = port.targetPort ?? port.port;
      assert.ok(
        containerPorts.some((p) => p.name === target || p.containerPort === target),
        `Service ${serviceName} port ${port.port} → ${String(target)} is a container port`,
      );
    }
  }
  assert.equal(one('StatefulSet', 'sigload-postgres').spec?.serviceName, 'sigload-postgres');
  // The server listens where its Service sends traffic.
  const server = podSpec(one('Deployment', 'sigload-server')).containers[0]!;
  const listenPort = server.env?.find((e) => e.name === 'SIGLOAD_PORT')?.value;
  assert.ok(server.ports?.some((p) => String(p.containerPort) === listenPort), `SIGLOAD_PORT ${listenPort} is the container port`);
  assert.ok(server.command?.join(' ').includes('--host 0.0.0.0'), 'the server listens beyond loopback');
});

test('every secret and config reference exists; every server variable is one the server reads', () => {
  for (const manifest of all.filter((m) => m.spec?.template)) {
    const spec = podSpec(manifest);
    for (const container of spec.containers) {
      for (const variable of container.env ?? []) {
        const secretRef = variable.valueFrom?.secretKeyRef;
        if (secretRef) assert.ok(one('Secret', secretRef.name).stringData?.[secretRef.key] !== undefined, `${manifest.metadata.name}: ${variable.name} ← secret ${secretRef.name}/${secretRef.key}`);
        const configRef = variable.valueFrom?.configMapKeyRef;
        if (configRef) assert.ok(one('ConfigMap', configRef.name).data?.[configRef.key] !== undefined, `${manifest.metadata.name}: ${variable.name} ← config ${configRef.name}/${configRef.key}`);
      }
      const volumes = [...(spec.volumes ?? []).map((v) => v.name), ...(manifest.spec?.volumeClaimTemplates ?? []).map((v) => v.metadata.name)];
      for (const mount of container.volumeMounts ?? []) assert.ok(volumes.includes(mount.name), `${manifest.metadata.name}: volume ${mount.name} exists`);
    }
    for (const volume of spec.volumes ?? []) {
      if (volume.secret) for (const item of volume.secret.items ?? []) assert.ok(one('Secret', volume.secret.secretName).stringData?.[item.key] !== undefined, `secret item ${item.key}`);
      if (volume.persistentVolumeClaim) one('PersistentVolumeClaim', volume.persistentVolumeClaim.claimName);
    }
  }
  const server = podSpec(one('Deployment', 'sigload-server'));
  const env = new Map((server.containers[0]!.env ?? []).map((e) => [e.name, e]));
  const read = serverEnvironmentNames();
  assert.ok(read.has('SIGLOAD_DATABASE_URL') && read.has('SIGLOAD_STORE'), 'scripts/server.ts was parsed');
  for (const name of env.keys()) assert.ok(read.has(name), `${name} is read by scripts/server.ts`);
  for (const name of ['SIGLOAD_STORE', 'SIGLOAD_DATABASE_URL', 'SIGLOAD_ADMIN_TOKEN', 'SIGLOAD_REGISTRATION_TOKEN', 'SIGLOAD_MASTER_KEYS_FILE']) assert.ok(env.has(name), `the server gets ${name}`);
  assert.equal(env.get('SIGLOAD_STORE')?.value, 'postgres');
  // Every process opens the same master keys: the file is the mounted secret item, not a per-pod default.
  const keysFile = env.get('SIGLOAD_MASTER_KEYS_FILE')!.value!;
  const mounted = server.containers[0]!.volumeMounts!.flatMap((mount) => {
    const volume = server.volumes!.find((v) => v.name === mount.name)!;
    return (volume.secret?.items ?? []).map((item) => `${mount.mountPath}/${item.path}`);
  });
  assert.ok(mounted.includes(keysFile), `${keysFile} is a mounted secret item (${mounted.join(', ')})`);
  for (const volume of server.volumes ?? []) if (volume.secret) assert.equal((volume.secret.defaultMode ?? 0o644) & 0o007, 0, 'master keys not readable by others');
});

test('the generators are an Indexed Job: one shard per index, one start instant, results on a volume', () => {
  const job = one('Job', 'sigload-load');
  assert.equal(job.spec?.completionMode, 'Indexed');
  assert.ok((job.spec?.completions ?? 0) >= 2);
  assert.equal(job.spec?.parallelism, job.spec?.completions, 'parallelism = completions: every shard runs at once');
  const container = podSpec(job).containers[0]!;
  const env = new Map((container.env ?? []).map((e) => [e.name, e]));
  assert.equal(env.get('SHARDS')?.value, String(job.spec?.completions), 'SHARDS = completions');
  assert.equal(env.get('JOB_COMPLETION_INDEX')?.valueFrom?.fieldRef?.fieldPath, "metadata.annotations['batch.kubernetes.io/job-completion-index']");
  const command = (container.command ?? []).concat(container.args ?? []).join(' ');
  assert.match(command, /npm run load --/);
  assert.match(command, /--shard "\$JOB_COMPLETION_INDEX\/\$SHARDS"/);
  assert.equal(command.match(/--start-at/g)?.length, 1, 'one --start-at');
  assert.match(command, /--start-at "\$START_AT_MS"/);
  assert.ok(env.get('START_AT_MS')?.valueFrom?.configMapKeyRef, 'START_AT_MS comes from the one ConfigMap every pod reads');
  assert.match(command, /--out "\/results\/shard-\$JOB_COMPLETION_INDEX\.json"/);
  assert.ok(container.volumeMounts?.some((m) => m.mountPath === '/results'));
  const merge = podSpec(one('Job', 'sigload-merge')).containers[0]!;
  assert.match((merge.command ?? []).join(' '), /npm run merge -- \/results\/shard-\*\.json/);
});

test('containers run npm scripts that exist, in the image the Dockerfile builds', () => {
  const scripts = (JSON.parse(readFileSync(`${repo}package.json`, 'utf8')) as { scripts: Record<string, string> }).scripts;
  const used = new Set<string>();
  for (const manifest of all.filter((m) => m.spec?.template && m.metadata.name.startsWith('sigload-') && m.kind !== 'StatefulSet')) {
    for (const container of podSpec(manifest).containers) {
      assert.equal(container.image, 'sigload:local', `${manifest.metadata.name} runs the sigload image`);
      const command = (container.command ?? []).join(' ');
      const named = [...command.matchAll(/npm (?:run )?([a-z:-]+)/g)].map((m) => m[1]!);
      assert.ok(named.length > 0, `${manifest.metadata.name}: runs an npm script`);
      for (const script of named) used.add(script);
    }
  }
  for (const script of used) {
    assert.ok(scripts[script] !== undefined, `npm ${script} exists in package.json`);
  }
  const dockerfile = readFileSync(`${repo}deploy/Dockerfile`, 'utf8');
  for (const copied of [...dockerfile.matchAll(/^COPY (.+) \S+$/gm)].flatMap((m) => m[1]!.split(' '))) assert.ok(existsSync(`${repo}${copied}`), `Dockerfile copies ${copied}, which exists`);
});

test('probes and the HAProxy health check ask paths the server answers with 200', async () => {
  const probePaths = new Set<string>();
  for (const container of podSpec(one('Deployment', 'sigload-server')).containers) {
    for (const probe of [container.readinessProbe, container.livenessProbe]) {
      assert.ok(probe?.httpGet, 'HTTP probes');
      assert.ok(container.ports?.some((p) => p.name === probe.httpGet!.port || p.containerPort === probe.httpGet!.port));
      probePaths.add(probe.httpGet.path);
    }
  }
  const haproxyCheck = /http-check send meth GET uri (\S+)/.exec(readFileSync(haproxyConfig, 'utf8'));
  assert.ok(haproxyCheck, 'haproxy.cfg has an HTTP health check');
  probePaths.add(haproxyCheck[1]!);
  assert.equal(probePaths.size, 2, `liveness and readiness (${[...probePaths].join(', ')})`);
  const store = new MemoryStore();
  const server = await startReferenceServer({ store, adminToken: 'admin-token', registrationToken: 'registration-token', retention: false });
  try {
    for (const path of probePaths) {
      const answer = await fetch(`${server.url}${path}`);
      await answer.arrayBuffer();
      assert.equal(answer.status, 200, `GET ${path}`);
    }
    const missing = await fetch(`${server.url}/no-such-probe`);
    await missing.arrayBuffer();
    assert.equal(missing.status, 404, 'an unknown path is not 200 (the check above can fail)');
  } finally {
    await server.close();
    await store.close();
  }
});

test('haproxy.cfg: valid for haproxy -c, and its timeouts outlast the longest long-poll', (t) => {
  const config = readFileSync(haproxyConfig, 'utf8');
  const seconds = (name: string): number => {
    const match = new RegExp(`^\\s*timeout ${name} (\\d+)s\\s*$`, 'm').exec(config);
    assert.ok(match, `timeout ${name} in seconds`);
    return Number(match[1]) * 1000;
  };
  assert.ok(seconds('server') > DEFAULT_LONG_POLL_MAX_MS, 'timeout server > long-poll maximum');
  assert.ok(seconds('client') > DEFAULT_LONG_POLL_MAX_MS, 'timeout client > long-poll maximum');
  assert.ok((config.match(/^\s*server app\d+ .* check$/gm) ?? []).length >= 2, 'two or more checked backends');
  const found = spawnSync('sh', ['-c', 'command -v haproxy'], { encoding: 'utf8' });
  if (found.status !== 0) {
    t.skip('haproxy is not installed (apt-get install haproxy; .ci/run installs it): haproxy -c not run');
    return;
  }
  const checked = spawnSync('haproxy', ['-c', '-f', haproxyConfig], { encoding: 'utf8' });
  assert.equal(checked.status, 0, `haproxy -c: ${checked.stdout}${checked.stderr}`);
});
