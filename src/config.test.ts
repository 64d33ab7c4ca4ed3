import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CONFIG_ENV_NAMES, ConfigError, loadConfig } from './config.js';

const source = readFileSync(new URL('./config.ts', import.meta.url), 'utf8');
const listed = new Set<string>(CONFIG_ENV_NAMES);

/** The names a template such as `RATE_LIMIT_${kind}_BURST` stands for, from the union type of its placeholder. */
function expandTemplate(template: string): string[] {
  const placeholder = /\$\{(\w+)\}/.exec(template);
  if (!placeholder) return [template];
  const union = new RegExp(`\\b${placeholder[1]}\\s*:\\s*((?:'[A-Z0-9_]+'\\s*\\|?\\s*)+)`).exec(source);
  assert.ok(
    union,
    `config.ts reads env[\`${template}\`]: give "${placeholder[1]}" a union of string literals, or read the names literally`,
  );
  return [...union[1]!.matchAll(/'([A-Z0-9_]+)'/g)].flatMap((m) =>
    expandTemplate(template.replace(placeholder[0], m[1]!)),
  );
}

/** An environment that remembers every name asked of it. */
function recordingEnv(values: Record<string, string>) {
  const read = new Set<string>();
  const env = new Proxy(values, {
    get(target, name) {
      if (typeof name === 'string') read.add(name);
      return typeof name === 'string' ? target[name] : undefined;
    },
  }) as NodeJS.ProcessEnv;
  return { env, read };
}

function load(env: NodeJS.ProcessEnv) {
  try {
    loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
  }
}

describe('the list of configuration variables', () => {
  it('names each variable once, in the shell form', () => {
    assert.equal(listed.size, CONFIG_ENV_NAMES.length);
    for (const name of CONFIG_ENV_NAMES) assert.match(name, /^[A-Z][A-Z0-9_]*$/);
  });

  it('holds every name config.ts reads as env.NAME, env["NAME"] or env[`…${kind}…`]', () => {
    const literal = [...source.matchAll(/\benv\.([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!);
    const quoted = [...source.matchAll(/\benv\[\s*(['"])([^'"]+)\1\s*\]/g)].map((m) => m[2]!);
    const templated = [...source.matchAll(/\benv\[\s*`([^`]+)`\s*\]/g)].flatMap((m) => expandTemplate(m[1]!));
    const found = [...literal, ...quoted, ...templated];
    assert.ok(
      found.length >= CONFIG_ENV_NAMES.length / 2,
      'the scan found too few reads: has the way config.ts reads env changed?',
    );
    assert.deepEqual(
      found.filter((name) => !listed.has(name)),
      [],
      'config.ts reads these without listing them in CONFIG_ENV_NAMES',
    );
    assert.deepEqual(
      CONFIG_ENV_NAMES.filter((name) => !found.includes(name)),
      [],
      'CONFIG_ENV_NAMES lists these, which config.ts never reads',
    );
  });

  it('is exactly what loadConfig asks of the environment, on SQLite and on PostgreSQL', () => {
    const read = new Set<string>();
    const scenarios: Record<string, string>[] = [
      {},
      {
        DATABASE_URL: 'postgres://plugboard@127.0.0.1:5432/plugboard',
        PLUGBOARD_MASTER_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
      },
      Object.fromEntries(CONFIG_ENV_NAMES.map((name) => [name, 'not a valid value'])),
    ];
    for (const values of scenarios) {
      const recording = recordingEnv(values);
      load(recording.env);
      for (const name of recording.read) read.add(name);
    }
    assert.deepEqual(
      [...read].filter((name) => !listed.has(name)),
      [],
      'loadConfig reads these without listing them',
    );
    assert.deepEqual(
      CONFIG_ENV_NAMES.filter((name) => !read.has(name)),
      [],
      'listed, but loadConfig never reads them',
    );
  });
});

describe('the egress settings', () => {
  it('allow private addresses and make no exceptions unless told otherwise', () => {
    const { egress } = loadConfig({});
    assert.deepEqual([egress.denyPrivate, egress.allow.cidrs.length, egress.allow.hosts.size], [false, 0, 0]);
  });

  it('read EGRESS_DENY_PRIVATE and EGRESS_ALLOW, and name every entry of EGRESS_ALLOW they cannot use', () => {
    const { egress } = loadConfig({ EGRESS_DENY_PRIVATE: 'true', EGRESS_ALLOW: '10.0.0.0/8, db.internal' });
    assert.deepEqual(
      [egress.denyPrivate, egress.allow.cidrs.length, [...egress.allow.hosts]],
      [true, 1, ['db.internal']],
    );
    assert.throws(
      () => loadConfig({ EGRESS_DENY_PRIVATE: 'maybe', EGRESS_ALLOW: '10.0.0.0/40,ok.example,http://x' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(error.problems.filter((p) => p.startsWith('EGRESS')).length, 3, error.message);
        return true;
      },
    );
  });
});

describe('connection limits, the metrics token and the node id', () => {
  const problemsOf = (env: NodeJS.ProcessEnv) => {
    try {
      loadConfig(env);
      return [];
    } catch (error) {
      return (error as ConfigError).problems;
    }
  };

  it("defaults to 10,000 connections and timeouts that outlast a load balancer's idle sockets", () => {
    assert.deepEqual(loadConfig({}).connections, {
      max: 10_000,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 60_000,
      keepAliveTimeoutMs: 72_000,
    });
    assert.equal(loadConfig({}).metricsToken, undefined);
  });

  it('refuses a header timeout longer than the request timeout and a short metrics token', () => {
    assert.match(
      problemsOf({ HEADERS_TIMEOUT_MS: '5000', REQUEST_TIMEOUT_MS: '1000' }).join('\n'),
      /HEADERS_TIMEOUT_MS/,
    );
    assert.match(problemsOf({ METRICS_TOKEN: 'short' }).join('\n'), /METRICS_TOKEN/);
    assert.match(problemsOf({ MAX_CONNECTIONS: '0' }).join('\n'), /MAX_CONNECTIONS/);
  });

  it('names a node by NODE_ID, else by a random id that says nothing about its host or process', () => {
    assert.equal(loadConfig({ NODE_ID: 'node-a' }).nodeId, 'node-a');
    const id = loadConfig({}).nodeId;
    assert.match(id, /^node-[0-9a-f]{12}$/);
    assert.equal(id.includes(String(process.pid)), false);
  });
});

describe('PUBLIC_URL', () => {
  const problemsOf = (env: NodeJS.ProcessEnv) => {
    try {
      loadConfig(env);
      return [];
    } catch (error) {
      return (error as ConfigError).problems;
    }
  };

  it('may have a path prefix (its trailing slashes dropped), but no query or fragment', () => {
    assert.equal(
      loadConfig({ PUBLIC_URL: 'https://hub.example.com/plugboard/' }).publicUrl,
      'https://hub.example.com/plugboard',
    );
    for (const value of ['https://hub.example.com/plugboard?x=1', 'https://hub.example.com/#top'])
      assert.match(problemsOf({ PUBLIC_URL: value }).join('\n'), /PUBLIC_URL: expected no query or fragment/, value);
  });
});
