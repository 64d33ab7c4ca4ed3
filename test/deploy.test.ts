import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';
import { CONFIG_ENV_NAMES, ConfigError, loadConfig } from '../src/config.js';
import {
  composeEnvironment,
  durationMs,
  execForm,
  interpolate,
  parseDockerfile,
  parseEnvInstruction,
  parseHaproxy,
  type DockerStage,
} from './support/deploy-files.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string) => readFileSync(join(root, path), 'utf8');
// Besides plugboard's settings, the image sets glibc's allocator (deploy/Dockerfile, docs/operations.md "Memory").
const ALLOCATOR_ENV_NAMES = ['MALLOC_ARENA_MAX', 'MALLOC_MMAP_THRESHOLD_'];
const known = new Set<string>([...CONFIG_ENV_NAMES, ...ALLOCATOR_ENV_NAMES]);
const unknownNames = (names: Iterable<string>) => [...names].filter((name) => !known.has(name));
const validMasterKeys = `k1:${Buffer.alloc(32, 1).toString('base64')}`;
/** What a tool call may wait for its upstream unless GATEWAY_UPSTREAM_TIMEOUT_MS says otherwise. */
const gatewayTimeoutMs = (env: Record<string, string | undefined>) =>
  loadConfig({ ...env, PLUGBOARD_MASTER_KEYS: validMasterKeys }).gateway.upstreamTimeoutMs;
/** Whether `labels` carries every label of `selector`. */
const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

// ---- Dockerfile -----------------------------------------------------------------------------------------
const dockerfile = parseDockerfile(read('deploy/Dockerfile'));
const runtime = dockerfile.stages.at(-1)!;
const allOf = (stage: DockerStage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword);
const lastOf = (stage: DockerStage, keyword: string) => allOf(stage, keyword).at(-1);
const imageEnv: Record<string, string> = Object.assign(
  {},
  ...allOf(runtime, 'ENV').map((i) => parseEnvInstruction(i.args)),
);
const imageCommand = [
  ...execForm(lastOf(runtime, 'ENTRYPOINT')?.args ?? '[]'),
  ...execForm(lastOf(runtime, 'CMD')?.args ?? '[]'),
];
const exposed = allOf(runtime, 'EXPOSE')
  .flatMap((i) => i.args.split(/\s+/))
  .map((p) => Number(p.replace(/\/tcp$/, '')));
const imagePort = Number(imageEnv.PORT);
/** A stage and every stage it is built FROM, nearest first. */
function lineage(stage: DockerStage): DockerStage[] {
  const parent = dockerfile.stages.find((s) => s.name !== undefined && s.name === stage.image);
  return parent ? [stage, ...lineage(parent)] : [stage];
}
const runsIn = (stage: DockerStage, pattern: RegExp) => allOf(stage, 'RUN').some((i) => pattern.test(i.args));

// ---- HAProxy ----------------------------------------------------------------------------------------------
const haproxy = parseHaproxy(read('deploy/haproxy.cfg'));
const defaults = haproxy.find((s) => s.kind === 'defaults')!;
const backends = haproxy.filter((s) => s.kind === 'backend');
const directive = (section: { directives: readonly (readonly string[])[] } | undefined, ...words: string[]) =>
  section?.directives.find((d) => words.every((w, i) => d[i] === w));
const servers = backends.flatMap((b) =>
  b.directives
    .filter((d) => d[0] === 'server')
    .map((d) => ({ backend: b.name, name: d[1]!, address: d[2]!, options: d.slice(3) })),
);
/** `inter 1s fall 2 …` of default-server, as numbers (ms for times). */
function defaultServer(): { inter: number; fall: number } {
  const words = [
    ...(directive(defaults, 'default-server') ?? []),
    ...backends.flatMap((b) => directive(b, 'default-server') ?? []),
  ];
  const value = (key: string, fallback: string) => words[words.lastIndexOf(key) + 1] ?? fallback;
  return {
    inter: words.includes('inter') ? durationMs(value('inter', '2s')) : 2000,
    fall: words.includes('fall') ? Number(value('fall', '3')) : 3,
  };
}
const checkTimeoutMs = durationMs(
  directive(defaults, 'timeout', 'check')?.[2] ?? directive(defaults, 'timeout', 'connect')?.[2] ?? '0',
);
/** How long HAProxy may keep sending requests to a node whose /readyz already says 503. */
const haproxyDetectionMs = defaultServer().inter * defaultServer().fall + checkTimeoutMs;

// ---- Compose ----------------------------------------------------------------------------------------------
const compose = parse(read('deploy/compose.yaml'), { merge: true }) as {
  services: Record<string, Record<string, any>>;
};
const composeVars = {
  PLUGBOARD_MASTER_KEYS: validMasterKeys,
  POSTGRES_PASSWORD: 'c0ffee',
  PLUGBOARD_ADMIN_KEY: undefined,
  PLUGBOARD_PUBLIC_URL: undefined,
};
const nodeServices = Object.entries(compose.services).filter(
  ([, s]) => typeof s.build === 'object' && /(^|\/)Dockerfile$/.test(s.build.dockerfile ?? ''),
);
/** A node's environment as the container sees it: the image's ENV, then compose's, interpolated. */
const nodeEnv = (service: Record<string, any>, vars: Record<string, string | undefined> = composeVars) => ({
  ...imageEnv,
  ...Object.fromEntries(
    Object.entries(composeEnvironment(service.environment)).map(([k, v]) => [k, interpolate(v, vars)]),
  ),
});

// ---- Kubernetes -------------------------------------------------------------------------------------------
const k8sDir = 'deploy/kubernetes';
const k8sFiles = readdirSync(join(root, k8sDir))
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();
const k8s: Record<string, any>[] = k8sFiles.flatMap((file) =>
  parseAllDocuments(read(`${k8sDir}/${file}`)).map((doc) => {
    assert.deepEqual(doc.errors, [], `${file} is not valid YAML`);
    return { file, ...(doc.toJS() as Record<string, any>) };
  }),
);
const manifest = (kind: string) => {
  const found = k8s.filter((m) => m.kind === kind);
  assert.equal(found.length, 1, `exactly one ${kind} in ${k8sDir}`);
  return found[0]!;
};
const deployment = manifest('Deployment');
const podSpec = deployment.spec.template.spec;
const container = podSpec.containers[0];
const containerPort = (nameOrNumber: string | number) =>
  typeof nameOrNumber === 'number'
    ? nameOrNumber
    : container.ports.find((p: any) => p.name === nameOrNumber)?.containerPort;
/** The environment a pod gets: its ConfigMaps and Secrets through envFrom, then env. */
function podEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef;
    const source = k8s.find(
      (m) => m.kind === (from.configMapRef ? 'ConfigMap' : 'Secret') && m.metadata.name === ref.name,
    );
    assert.ok(source, `envFrom names ${ref.name}, which ${k8sDir} does not define`);
    const data = { ...source.data, ...source.stringData };
    if (source.kind === 'Secret' && source.data)
      for (const k of Object.keys(source.data)) data[k] = Buffer.from(source.data[k], 'base64').toString('utf8');
    for (const [k, v] of Object.entries(data)) env[`${from.prefix ?? ''}${k}`] = String(v);
  }
  for (const e of container.env ?? []) env[e.name] = e.value ?? '(from reference)';
  return env;
}

describe('the Dockerfile', () => {
  it('builds in stages on Node.js 20 Debian bookworm images', () => {
    assert.ok(dockerfile.stages.length >= 3, 'build, production dependencies and runtime stages');
    for (const stage of dockerfile.stages) {
      const base = lineage(stage).at(-1)!.image;
      assert.match(
        base,
        /^node:20(\.\d+)*-bookworm(-slim)?$/,
        `stage ${stage.name ?? '(runtime)'} starts from ${base}`,
      );
    }
  });

  it("builds dist/ with the README's steps: npm ci from the lockfile, then npm run build", () => {
    const build = dockerfile.stages.find((s) => runsIn(s, /\bnpm run build\b/));
    assert.ok(build, 'a stage runs npm run build');
    const steps = build.instructions.map((i) => `${i.keyword} ${i.args}`);
    const lockfile = steps.findIndex((s) => /^COPY .*package-lock\.json/.test(s));
    const install = steps.findIndex((s) => /^RUN .*\bnpm ci\b/.test(s) && !/--omit=dev/.test(s));
    const compile = steps.findIndex((s) => /^RUN .*\bnpm run build\b/.test(s));
    assert.ok(lockfile >= 0 && lockfile < install && install < compile, steps.join('\n'));
    assert.ok(!steps.some((s) => /\bnpm (install|i)\b/.test(s)), 'npm ci, never npm install: the lockfile decides');
    const readme = read('README.md');
    assert.match(readme, /npm ci/);
    assert.match(readme, /npm run build` produces `dist\/`/);
  });

  it('installs production dependencies in a clean stage that can compile better-sqlite3', () => {
    const deps = dockerfile.stages.find((s) => runsIn(s, /\bnpm ci\b.*--omit=dev/));
    assert.ok(deps, 'a stage runs npm ci --omit=dev');
    assert.ok(!runsIn(deps, /npm run build/), 'the production-dependency stage builds nothing');
    assert.ok(
      !lineage(deps).some((s) => s.name !== undefined && runsIn(s, /npm run build/)),
      'and does not start from the build stage',
    );
    for (const stage of dockerfile.stages.filter((s) => runsIn(s, /\bnpm ci\b/))) {
      const toolchain = lineage(stage).some(
        (s) => runsIn(s, /apt-get install.*\bpython3\b/) && runsIn(s, /\bmake\b/) && runsIn(s, /\bg\+\+/),
      );
      assert.ok(toolchain, `stage ${stage.name} runs npm ci with python3, make and g++ at hand`);
    }
    const copies = allOf(runtime, 'COPY').map((i) => i.args);
    assert.ok(
      copies.some((c) => c.includes(`--from=${deps.name}`) && /node_modules/.test(c)),
      'the runtime takes node_modules from the production stage',
    );
    assert.ok(
      copies.some((c) => /--from=\S+/.test(c) && /\bdist\b/.test(c)),
      'and dist/ from the build stage',
    );
    assert.ok(!lineage(runtime).some((s) => runsIn(s, /g\+\+/)), 'the runtime image carries no compiler');
  });

  it('runs as a non-root user given by number, so Kubernetes can check runAsNonRoot', () => {
    const user = lastOf(runtime, 'USER')?.args ?? '';
    assert.match(user, /^\d+(:\d+)?$/);
    assert.notEqual(Number(user.split(':')[0]), 0);
  });

  it('listens on 0.0.0.0:8080, keeps /data in a volume and runs `plugboard serve`', () => {
    assert.deepEqual(exposed, [8080]);
    assert.equal(imagePort, 8080);
    assert.equal(imageEnv.HOST, '0.0.0.0');
    assert.equal(imageEnv.DATA_DIR, '/data');
    assert.deepEqual(unknownNames(Object.keys(imageEnv)), []);
    assert.ok(allOf(runtime, 'VOLUME').some((i) => i.args.includes('/data')));
    assert.equal(lastOf(runtime, 'STOPSIGNAL')?.args, 'SIGTERM');
    assert.deepEqual(imageCommand, ['node', 'dist/cli/main.js', 'serve']);
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    // npm start runs the same command with the image's allocator settings (docs/operations.md, "Memory").
    const allocator = ['MALLOC_ARENA_MAX', 'MALLOC_MMAP_THRESHOLD_'].map((name) => `${name}=${imageEnv[name]}`);
    assert.equal(
      pkg.scripts.start,
      [...allocator, ...imageCommand].join(' '),
      'the same command and allocator settings as npm start',
    );
  });

  it('checks its health on /healthz with node itself', () => {
    const check = lastOf(runtime, 'HEALTHCHECK')?.args ?? '';
    const command = execForm(check.replace(/^(--\S+\s+)*CMD\s+/, ''));
    assert.equal(command[0], 'node');
    assert.match(command.join(' '), /\/healthz/);
    assert.match(command.join(' '), /process\.env\.PORT/);
  });

  it('leaves dependencies, build output and local data out of the build context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    for (const entry of ['node_modules', 'data', 'dist', '.git', '.scratch']) assert.ok(ignored.includes(entry), entry);
    for (const needed of ['src', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json']) {
      assert.ok(
        !ignored.some((pattern) => pattern === needed || pattern === `${needed}/` || pattern === '*'),
        `${needed} must reach the build`,
      );
    }
  });
});

describe('the HAProxy configuration', () => {
  it('balances round robin and checks every node on /readyz', () => {
    const nodes = backends.find((b) => directive(b, 'balance', 'roundrobin'));
    assert.ok(nodes, 'a round-robin backend');
    assert.ok(
      directive(nodes, 'option', 'httpchk', 'GET', '/readyz') ??
        directive(nodes, 'http-check', 'send', 'meth', 'GET', 'uri', '/readyz'),
    );
    for (const server of servers) {
      assert.ok(
        server.options.includes('check') || server.options.includes('track'),
        `${server.backend}/${server.name} is health-checked`,
      );
    }
    assert.ok(haproxyDetectionMs <= 5000, `a draining node is out within ${haproxyDetectionMs} ms`);
  });

  it('retries failed connections on another node', () => {
    assert.ok(Number(directive(defaults, 'retries')?.[1]) >= 1);
    assert.ok(directive(defaults, 'option', 'redispatch'));
  });

  it('keeps long MCP requests and SSE streams open', () => {
    for (const side of ['client', 'server']) {
      const ms = durationMs(directive(defaults, 'timeout', side)?.[2] ?? '0');
      assert.ok(ms >= 2 * gatewayTimeoutMs({}), `timeout ${side} outlasts a tool call's upstream timeout twice over`);
    }
  });

  it('sends the legacy SSE transport to one node per client', () => {
    const frontend = haproxy.find(
      (s) => s.kind === 'frontend' && s.directives.some((d) => d[0] === 'use_backend' && d.includes('/sse/')),
    );
    assert.ok(frontend, 'a frontend routes /sse/ to its own backend');
    const sse = backends.find((b) => b.name === directive(frontend, 'use_backend')![1]);
    assert.match(directive(sse, 'balance')?.[1] ?? '', /^(hdr\(|source|url_param)/);
  });

  it('is accepted by haproxy -c as shipped and as the operations guide turns it for 127.0.0.1', async (t) => {
    const version = await run('haproxy', ['-v']).catch(() => undefined);
    if (!version) {
      t.diagnostic('haproxy is not installed here: checked the file only');
      return;
    }
    await run('haproxy', ['-c', '-f', join(root, 'deploy/haproxy.cfg')]);
    const guide = read('docs/operations.md');
    const sed = /sed '(s\/node[^']+)' deploy\/haproxy\.cfg/.exec(guide);
    assert.ok(sed, 'docs/operations.md turns deploy/haproxy.cfg into a local one with sed');
    const { stdout: local } = await run('sed', [sed[1]!, join(root, 'deploy/haproxy.cfg')]);
    const localServers = parseHaproxy(local).flatMap((s) =>
      s.directives.filter((d) => d[0] === 'server').map((d) => d[2]),
    );
    assert.deepEqual([...new Set(localServers)], ['127.0.0.1:8081', '127.0.0.1:8082', '127.0.0.1:8083']);
    const dir = mkdtempSync(join(tmpdir(), 'plugboard-haproxy-'));
    try {
      writeFileSync(join(dir, 'haproxy.cfg'), local);
      await run('haproxy', ['-c', '-f', join(dir, 'haproxy.cfg')]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the compose file', () => {
  it('runs three plugboard nodes from the Dockerfile beside PostgreSQL 15, Redis 7 and HAProxy 2.6', () => {
    assert.deepEqual(nodeServices.map(([name]) => name).sort(), ['node1', 'node2', 'node3']);
    for (const [name, service] of nodeServices) {
      assert.equal(service.build.dockerfile, 'deploy/Dockerfile', name);
      assert.equal(service.build.context, '..', name);
      assert.equal(service.depends_on?.postgres?.condition, 'service_healthy', name);
      assert.equal(service.depends_on?.redis?.condition, 'service_healthy', name);
    }
    const images = Object.values(compose.services).map((s) => String(s.image ?? ''));
    assert.ok(images.some((i) => /^postgres:15\b/.test(i)));
    assert.ok(images.some((i) => /^redis:7\b/.test(i)));
    const balancer = Object.values(compose.services).find((s) => /^haproxy:2\.6\b/.test(String(s.image)));
    assert.ok(
      balancer?.volumes?.some((v: string) => v.startsWith('./haproxy.cfg:')),
      'HAProxy reads deploy/haproxy.cfg',
    );
  });

  it('sets on every node only variables that plugboard reads, and a configuration it accepts', () => {
    for (const [name, service] of nodeServices) {
      assert.deepEqual(unknownNames(Object.keys(composeEnvironment(service.environment))), [], name);
      const env = nodeEnv(service);
      const config = loadConfig(env);
      assert.equal(config.database.engine, 'postgres', name);
      assert.match(env.DATABASE_URL!, /@postgres:5432\//, name);
      assert.equal(env.REDIS_URL, 'redis://redis:6379', name);
      assert.equal(env.PLUGBOARD_MASTER_KEYS, validMasterKeys, name);
      assert.equal(config.egress.denyPrivate, true, `${name}: nodes shared by several teams deny private egress`);
    }
    const envs = nodeServices.map(([, s]) => {
      const { NODE_ID: _own, ...shared } = nodeEnv(s);
      return JSON.stringify(shared);
    });
    assert.equal(new Set(envs).size, 1, 'every node gets the same settings but its own NODE_ID');
    assert.deepEqual(
      nodeServices.map(([, s]) => nodeEnv(s).NODE_ID),
      nodeServices.map(([name]) => name),
      'each node names itself in X-Plugboard-Node',
    );
  });

  it('takes the master keys and the database password from the environment and refuses to start without them', () => {
    const [, node] = nodeServices[0]!;
    const raw = composeEnvironment(node.environment);
    assert.match(raw.PLUGBOARD_MASTER_KEYS!, /^\$\{PLUGBOARD_MASTER_KEYS:\?[^}]+\}$/);
    assert.match(raw.DATABASE_URL!, /\$\{POSTGRES_PASSWORD:\?[^}]+\}/);
    assert.throws(() => nodeEnv(node, { ...composeVars, PLUGBOARD_MASTER_KEYS: undefined }), /PLUGBOARD_MASTER_KEYS/);
    assert.throws(() => nodeEnv(node, { ...composeVars, POSTGRES_PASSWORD: '' }), /POSTGRES_PASSWORD/);
    const postgres = Object.values(compose.services).find((s) => /^postgres:/.test(String(s.image)))!;
    assert.match(composeEnvironment(postgres.environment).POSTGRES_PASSWORD!, /^\$\{POSTGRES_PASSWORD:\?/);
  });

  it('puts the nodes behind the balancer on the port they listen on, with PUBLIC_URL at the balancer', () => {
    const nodeNames = nodeServices.map(([name]) => name);
    assert.ok(servers.length >= nodeNames.length);
    for (const server of servers) {
      const [host, port] = server.address.split(':');
      assert.ok(nodeNames.includes(host!), `${server.address} is a compose node`);
      for (const [name, service] of nodeServices.filter(([n]) => n === host))
        assert.equal(Number(port), loadConfig(nodeEnv(service)).port, name);
    }
    assert.deepEqual(
      [...new Set(servers.map((s) => s.address.split(':')[0]))].sort(),
      nodeNames.sort(),
      'every node is a backend',
    );
    const bind = directive(
      haproxy.find((s) => s.kind === 'frontend' && s.directives.some((d) => d[0] === 'default_backend')),
      'bind',
    )![1]!;
    const balancer = Object.values(compose.services).find((s) => /^haproxy:/.test(String(s.image)))!;
    const published = (balancer.ports as string[])
      .map((p) => p.split(':'))
      .find((parts) => parts.at(-1) === bind.split(':').at(-1));
    assert.ok(published, `the balancer publishes its frontend port ${bind}`);
    const publicUrl = new URL(loadConfig(nodeEnv(nodeServices[0]![1])).publicUrl);
    assert.equal(publicUrl.port, published.at(-2), 'PUBLIC_URL points at the balancer');
  });

  it('drains each node longer than HAProxy takes to notice, and lets it finish before Docker kills it', () => {
    for (const [name, service] of nodeServices) {
      const config = loadConfig(nodeEnv(service));
      assert.ok(
        config.shutdownDrainMs > haproxyDetectionMs,
        `${name}: SHUTDOWN_DRAIN_MS ${config.shutdownDrainMs} > ${haproxyDetectionMs} ms`,
      );
      const grace = durationMs(String(service.stop_grace_period ?? '10s'));
      assert.ok(
        grace > config.shutdownDrainMs + config.gateway.upstreamTimeoutMs,
        `${name}: stop_grace_period ${grace} ms`,
      );
    }
  });
});

describe('the Kubernetes manifests', () => {
  it('are all listed in the kustomization', () => {
    const kustomization = k8s.find((m) => m.kind === 'Kustomization');
    assert.ok(kustomization);
    assert.deepEqual(
      [...kustomization.resources].sort(),
      k8sFiles.filter((f) => f !== kustomization.file),
    );
    for (const kind of [
      'Deployment',
      'Service',
      'Secret',
      'ConfigMap',
      'HorizontalPodAutoscaler',
      'PodDisruptionBudget',
    ])
      manifest(kind);
  });

  it('run three replicas of `plugboard serve` on the named port http 8080', () => {
    assert.equal(deployment.spec.replicas, 3);
    assert.equal(podSpec.containers.length, 1);
    assert.deepEqual(
      [...execForm(lastOf(runtime, 'ENTRYPOINT')!.args), ...(container.args ?? [])],
      ['node', 'dist/cli/main.js', 'serve'],
    );
    assert.equal(container.command, undefined, 'the image entrypoint stays');
    assert.deepEqual(container.ports, [{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
    assert.equal(Number(podEnv().PORT ?? imagePort), containerPort('http'));
    assert.ok(exposed.includes(containerPort('http')));
  });

  it('probe readiness on /readyz and liveness on /healthz at the container port', () => {
    const target = (probe: any) => ({ path: probe?.httpGet?.path, port: containerPort(probe?.httpGet?.port) });
    assert.deepEqual(target(container.readinessProbe), { path: '/readyz', port: 8080 });
    assert.deepEqual(target(container.livenessProbe), { path: '/healthz', port: 8080 });
    if (container.startupProbe) assert.deepEqual(target(container.startupProbe), { path: '/healthz', port: 8080 });
  });

  it('set only variables plugboard reads, the secret ones from the Secret, and a configuration it accepts', () => {
    const env = podEnv();
    assert.deepEqual(unknownNames(Object.keys(env)), []);
    const secret = manifest('Secret');
    const secretKeys = Object.keys({ ...secret.data, ...secret.stringData });
    for (const name of ['PLUGBOARD_MASTER_KEYS', 'DATABASE_URL']) assert.ok(secretKeys.includes(name), name);
    assert.deepEqual(
      Object.keys(manifest('ConfigMap').data).filter((k) => secretKeys.includes(k) || /KEY|PASSWORD/.test(k)),
      [],
    );
    assert.throws(() => loadConfig(env), ConfigError, 'the placeholder master key does not start a server');
    const config = loadConfig({ ...imageEnv, ...env, PLUGBOARD_MASTER_KEYS: validMasterKeys });
    assert.equal(config.database.engine, 'postgres');
    assert.equal(config.host, '0.0.0.0');
    assert.ok(config.redisUrl);
    assert.equal(config.egress.denyPrivate, true, 'pods shared by several teams deny private egress');
  });

  it('run as a non-root user on a read-only root file system, with resources set', () => {
    const pod = podSpec.securityContext;
    assert.equal(pod.runAsNonRoot, true);
    const [uid, gid] = lastOf(runtime, 'USER')!.args.split(':');
    assert.equal(pod.runAsUser, Number(uid), "the image's user");
    if (gid !== undefined) assert.equal(pod.runAsGroup, Number(gid), "the image's group");
    assert.notEqual(pod.runAsUser, 0);
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    assert.equal(container.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(container.securityContext.capabilities.drop, ['ALL']);
    const tmp = container.volumeMounts.find((m: any) => m.mountPath === '/tmp');
    assert.ok(podSpec.volumes.find((v: any) => v.name === tmp?.name)?.emptyDir, '/tmp is an emptyDir');
    for (const kind of ['cpu', 'memory']) assert.ok(container.resources.requests[kind], `requests.${kind}`);
    assert.ok(container.resources.limits.memory);
  });

  it('give a stopping pod time to drain and finish: grace period > SHUTDOWN_DRAIN_MS + the longest request', () => {
    const config = loadConfig({ ...imageEnv, ...podEnv(), PLUGBOARD_MASTER_KEYS: validMasterKeys });
    const graceMs = podSpec.terminationGracePeriodSeconds * 1000;
    assert.ok(config.shutdownDrainMs > 0);
    assert.ok(graceMs > config.shutdownDrainMs + config.gateway.upstreamTimeoutMs, `${graceMs} ms`);
    const readiness = container.readinessProbe;
    assert.ok(
      readiness.periodSeconds * readiness.failureThreshold * 1000 < config.shutdownDrainMs,
      'the pod turns unready while it still serves',
    );
    assert.equal(deployment.spec.strategy.rollingUpdate.maxUnavailable, 0);
  });

  it("select the Deployment's pods from the Service, the HPA and the PDB", () => {
    const labels = deployment.spec.template.metadata.labels;
    assert.ok(selects(deployment.spec.selector.matchLabels, labels));
    const service = manifest('Service');
    assert.ok(selects(service.spec.selector, labels));
    assert.deepEqual(
      service.spec.ports.map((p: any) => containerPort(p.targetPort)),
      [8080],
    );
    const pdb = manifest('PodDisruptionBudget');
    assert.equal(pdb.apiVersion, 'policy/v1');
    assert.ok(selects(pdb.spec.selector.matchLabels, labels));
    assert.ok(pdb.spec.maxUnavailable === 1 || pdb.spec.minAvailable === 2);
    const hpa = manifest('HorizontalPodAutoscaler');
    assert.equal(hpa.apiVersion, 'autoscaling/v2');
    assert.deepEqual(hpa.spec.scaleTargetRef, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: deployment.metadata.name,
    });
    assert.ok(hpa.spec.minReplicas >= deployment.spec.replicas);
    assert.ok(hpa.spec.metrics.some((m: any) => m.type === 'Resource' && m.resource.name === 'cpu'));
  });

  it("keep the pods at full scale within PostgreSQL's default 100 connections", () => {
    const config = loadConfig({ ...imageEnv, ...podEnv(), PLUGBOARD_MASTER_KEYS: validMasterKeys });
    assert.equal(config.database.engine, 'postgres');
    if (config.database.engine === 'postgres')
      assert.ok(manifest('HorizontalPodAutoscaler').spec.maxReplicas * config.database.poolSize <= 80);
  });
});

describe('the image', () => {
  it(
    'builds, reports healthy and stops cleanly on SIGTERM when a Docker daemon is at hand',
    { timeout: 20 * 60_000 },
    async (t) => {
      const version = await run('docker', ['--version']).catch(() => undefined);
      const daemon =
        version &&
        (await run('docker', ['info'], { timeout: 20_000 }).then(
          () => true,
          () => false,
        ));
      if (!daemon) {
        t.diagnostic(
          `${version ? version.stdout.trim() : 'docker is not installed'}; no Docker daemon reachable: checked deploy/Dockerfile as a file only`,
        );
        return;
      }
      const tag = `plugboard:deploy-test-${process.pid}`;
      await run('docker', ['build', '-f', 'deploy/Dockerfile', '-t', tag, '.'], {
        cwd: root,
        timeout: 15 * 60_000,
        maxBuffer: 64 * 1024 * 1024,
      });
      const { stdout: id } = await run('docker', [
        'run',
        '-d',
        '-p',
        '127.0.0.1::8080',
        '-e',
        'SHUTDOWN_DRAIN_MS=500',
        '-e',
        'LOG_LEVEL=warn',
        tag,
      ]);
      const container = id.trim();
      try {
        const { stdout: mapped } = await run('docker', ['port', container, '8080/tcp']);
        const url = `http://${mapped.trim().split('\n')[0]}/healthz`;
        let status = '';
        for (let i = 0; i < 90 && status !== 'healthy'; i++) {
          await new Promise((resolve) => setTimeout(resolve, 1000));
          status = (await run('docker', ['inspect', '-f', '{{.State.Health.Status}}', container])).stdout.trim();
        }
        assert.equal(status, 'healthy', 'the HEALTHCHECK passes');
        const answer = await fetch(url);
        assert.equal(answer.status, 200);
        assert.deepEqual(await answer.json(), { status: 'ok' });
        await run('docker', ['stop', '-t', '30', container]);
        assert.equal(
          (await run('docker', ['inspect', '-f', '{{.State.ExitCode}}', container])).stdout.trim(),
          '0',
          'SIGTERM stops it cleanly',
        );
      } finally {
        await run('docker', ['rm', '-f', '-v', container]).catch(() => undefined);
        await run('docker', ['rmi', tag]).catch(() => undefined);
      }
    },
  );
});
