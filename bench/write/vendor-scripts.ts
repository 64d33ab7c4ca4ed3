/**
 * The new user's scenario, full size, on PostgreSQL: one script updates every connection once through DataWorks
 * `UpdateConnection` with Alibaba's official SDK (a new host and password, so sealing is in the path) while another
 * renames access clients through Huawei Fabric's update with Huawei's core SDK and rotates their secrets through the
 * native API (Fabric has no rotation operation). Beside it, in the same run, the same SDK script against a bare
 * Fastify + pg server that checks the same ACS3 signature, seals the password the same way and runs one
 * `UPDATE … RETURNING` per request. Each round runs the SDK script against the bare server, then plugboard alone,
 * then plugboard with the Fabric script; prints the throughputs, their ratios to the bare one and the CPU per update
 * (this process, which runs the servers and the SDK clients, and the PostgreSQL backends of the server's schema), and
 * checks the audit: one event per change.
 *
 *   BENCH_CONNECTIONS (5000)  BENCH_WORKERS (12: the script's calls in flight)  BENCH_ROUNDS (1)
 *   BENCH_POSTGRES_URL (postgres://postgres@127.0.0.1:5432/test)
 *   BENCH_SCRIPT (process: the DataWorks script runs in a process of its own, as a user runs a script;
 *                 same: in this process, beside the servers, as test/vendor-scripts-together.test.ts runs it)
 *
 * Both servers run in this process, and so does the Fabric script (it rotates secrets through plugboard's app
 * directly). Correctness at a small size is test/vendor-scripts-together.test.ts's.
 */
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import Fastify from 'fastify';
import pg from 'pg';
import { dataworksParams } from '../../test/support/dataworks-sdk.js';
import OpenApiModule, * as OpenApi from '@alicloud/openapi-client';
import * as TeaUtil from '@alicloud/tea-util';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { acs3Signature } from '../../src/dialects/alibaba/acs3-signature.js';
import { intEnv, say } from '../common/plugboard.js';
import { inSchema, postgresTicks, ticksBetween } from '../common/postgres.js';
import { ticksToMs } from '../common/processes.js';

const require = createRequire(import.meta.url);
/** The part of Huawei's core SDK the Fabric script uses (it ships no types for these deep imports). */
interface FabricClient {
  sendRequest(options: object): Promise<{ httpStatusCode: number }>;
}
interface FabricClientBuilder {
  withCredential(credentials: unknown): FabricClientBuilder;
  withEndpoint(endpoint: string): FabricClientBuilder;
  build(): FabricClient;
}
interface FabricCredentials {
  withAk(ak: string): FabricCredentials;
  withSk(sk: string): FabricCredentials;
}
const { ClientBuilder } = require('@huaweicloud/huaweicloud-sdk-core/ClientBuilder') as {
  ClientBuilder: new (make: (client: unknown) => unknown) => FabricClientBuilder;
};
const { BasicCredentials } = require('@huaweicloud/huaweicloud-sdk-core/auth/BasicCredentials') as {
  BasicCredentials: new () => FabricCredentials;
};
const OpenApiClient = OpenApiModule.default;

const CONNECTIONS = intEnv('BENCH_CONNECTIONS', 5000);
const WORKERS = intEnv('BENCH_WORKERS', 12);
const ROUNDS = intEnv('BENCH_ROUNDS', 1);
const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ADMIN_KEY = `pbk_${randomBytes(24).toString('base64url')}`;
const WS = '/api/v1/workspaces/default';
const CLIENTS = 6;
const SCRIPT = process.env.BENCH_SCRIPT ?? 'process';
if (SCRIPT !== 'process' && SCRIPT !== 'same')
  throw new Error(`BENCH_SCRIPT must be "process" or "same", not "${SCRIPT}".`);
/** Set in the child process that runs the DataWorks script. */
const SCRIPT_CHILD = process.env.BENCH_VENDOR_SCRIPT_CHILD === '1';

/** Runs `work` over the items with `workers` calls in flight, as a script with a small pool would. */
async function inPool<T>(items: readonly T[], workers: number, work: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/** The SDK script: `UpdateConnection` once per id against `origin`; answers the seconds it took. */
async function updateConnections(origin: string, key: { id: string; secret: string }, ids: readonly number[]) {
  const client = new OpenApiClient(
    new OpenApi.Config({ accessKeyId: key.id, accessKeySecret: key.secret, endpoint: origin, protocol: 'http' }),
  );
  const params = dataworksParams('UpdateConnection');
  const started = performance.now();
  await inPool(ids, WORKERS, async (id) => {
    const query = {
      ConnectionId: String(id),
      EnvType: '0',
      RegionId: 'cn-shanghai',
      Content: JSON.stringify({
        host: `db-${id}`,
        port: 3306,
        password: `rotated-${id}-${randomBytes(4).toString('hex')}`,
      }),
    };
    const response = (await client.callApi(
      params,
      new OpenApi.OpenApiRequest({ query }),
      new TeaUtil.RuntimeOptions({}),
    )) as { statusCode: number; body: { Data: boolean } };
    assert.equal(response.statusCode, 200);
    assert.equal(response.body.Data, true);
  });
  return (performance.now() - started) / 1000;
}

/** What the DataWorks script reports: its seconds, and its own CPU when it ran in a process of its own. */
interface ScriptRun {
  readonly seconds: number;
  readonly scriptMs?: number;
}

interface ScriptOrder {
  readonly origin: string;
  readonly key: { id: string; secret: string };
  readonly ids: readonly number[];
}

/** The DataWorks script in a process of its own (this file, as a child), as a user runs a script. */
function updateConnectionsElsewhere(order: ScriptOrder): Promise<ScriptRun> {
  const child = fork(new URL(import.meta.url), [], {
    env: { ...process.env, BENCH_VENDOR_SCRIPT_CHILD: '1' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (message) => resolve(message as ScriptRun));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the DataWorks script exited with ${code} before it reported`)));
    child.send(order);
  });
}

/** In the child: runs the script it is sent, reports its seconds and CPU, and exits. */
function runAsScriptChild() {
  process.once('message', (order: ScriptOrder) => {
    const cpuBefore = process.cpuUsage();
    void updateConnections(order.origin, order.key, order.ids).then(
      (seconds) => {
        const cpu = process.cpuUsage(cpuBefore);
        process.send!({ seconds, scriptMs: (cpu.user + cpu.system) / 1000 } satisfies ScriptRun, () => process.exit(0));
      },
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}

/**
 * What a phase took: its seconds, the CPU of this process (the servers, and the SDK clients when they run here), of
 * the script's own process (when it has one) and of the schema's backends.
 */
interface Phase {
  readonly seconds: number;
  readonly nodeMs: number;
  readonly scriptMs?: number;
  readonly postgresMs: number;
}

/** Runs one script phase against the server on `schema`, measuring its CPU beside its time. */
async function measured(admin: pg.Client, schema: string, run: () => Promise<ScriptRun>): Promise<Phase> {
  const pgBefore = await postgresTicks(admin, schema);
  const cpuBefore = process.cpuUsage();
  const { seconds, scriptMs } = await run();
  const cpu = process.cpuUsage(cpuBefore);
  const postgresMs = ticksToMs(ticksBetween(pgBefore, await postgresTicks(admin, schema)));
  return {
    seconds,
    nodeMs: (cpu.user + cpu.system) / 1000,
    ...(scriptMs === undefined ? {} : { scriptMs }),
    postgresMs,
  };
}

/** AES-256-GCM under a random nonce, the value's place as additional data: the work of plugboard's vault. */
const bareKey = randomBytes(32);
function seal(plaintext: string, place: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', bareKey, iv);
  cipher.setAAD(Buffer.from(place));
  const sealed = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return `sealed:v1:${iv.toString('base64url')}:${sealed.toString('base64url')}:${cipher.getAuthTag().toString('base64url')}`;
}

/**
 * The baseline: a Fastify server that takes the same signed request (ACS3 signature checked with the same
 * function), seals the password and runs one autocommit `UPDATE … RETURNING` on a connections table: no audit row,
 * no read before the write, no revision check.
 */
async function startBare(schema: string, key: { id: string; secret: string }) {
  const pool = new pg.Pool({ connectionString: inSchema(POSTGRES_URL, schema), max: 16 });
  await pool.query(
    'create table connections (id bigint primary key, workspace_id text not null, content text not null, revision integer not null, updated_at text not null)',
  );
  await pool.query(
    `insert into connections select g, 'default', '{}', 1, now()::text from generate_series(1, ${CONNECTIONS}) g`,
  );
  const server = Fastify();
  server.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_r, body, done) =>
    done(null, body),
  );
  server.post('/', async (request, reply) => {
    const authorization = String(request.headers.authorization ?? '');
    const signature = /Signature=([0-9a-f]+)/.exec(authorization)?.[1];
    const query = request.query as Record<string, string>;
    const expected = acs3Signature(
      { method: 'POST', path: request.url.split('?')[0]!, query, headers: request.headers },
      key.secret,
    );
    if (!authorization.includes(`Credential=${key.id},`) || signature !== expected)
      return reply.code(403).send({ Code: 'SignatureDoesNotMatch' });
    const content = JSON.parse(query.Content!) as Record<string, unknown>;
    const sealed = { ...content, password: seal(String(content.password), `default/${query.ConnectionId}/password`) };
    const { rowCount } = await pool.query({
      name: 'update-connection',
      text: 'update connections set content = $1, revision = revision + 1, updated_at = $2 where id = $3 returning revision',
      values: [JSON.stringify(sealed), new Date().toISOString(), query.ConnectionId],
    });
    if (rowCount !== 1) return reply.code(404).send({ Code: 'NotFound' });
    return { RequestId: request.id, Data: true };
  });
  await server.listen({ host: '127.0.0.1', port: 0 });
  return {
    origin: `127.0.0.1:${(server.server.address() as AddressInfo).port}`,
    async close() {
      await server.close();
      await pool.end();
    },
  };
}

/** Plugboard on its own schema with the connections and clients to write, and the two scripts' keys. */
async function startPlugboard(schema: string) {
  const app = await createApp(
    loadConfig({
      DATABASE_URL: inSchema(POSTGRES_URL, schema),
      PLUGBOARD_MASTER_KEYS: `bench:${randomBytes(32).toString('base64')}`,
      PLUGBOARD_ADMIN_KEY: ADMIN_KEY,
      RATE_LIMIT_READ_PER_SECOND: '0',
      RATE_LIMIT_WRITE_PER_SECOND: '0',
      LOG_LEVEL: 'silent',
    }),
  );
  const call = async (method: string, url: string, body?: unknown) => {
    const response = await app.server.inject({
      method: method as 'POST',
      url,
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      payload: body === undefined ? undefined : JSON.stringify(body),
    });
    assert.ok(response.statusCode < 300, response.body);
    return response.json<Record<string, unknown>>();
  };
  const ids: number[] = [];
  await inPool(
    Array.from({ length: CONNECTIONS }, (_, i) => i),
    16,
    async (i) => {
      const created = await call('POST', `${WS}/connections`, {
        name: `warehouse-${i}`,
        type: 'mysql',
        content: { host: 'db', port: 3306, password: 'p0' },
      });
      ids.push(created.id as number);
    },
  );
  for (let i = 0; i < CLIENTS; i++) await call('POST', `${WS}/access-clients`, { id: `script-${i}`, name: `c${i}` });
  const alibaba = await call('POST', `${WS}/access-keys`, {
    name: 'dataworks script',
    kind: 'alibaba',
    role: 'editor',
  });
  const huawei = await call('POST', `${WS}/access-keys`, { name: 'fabric script', kind: 'huawei', role: 'editor' });
  await app.server.listen({ host: '127.0.0.1', port: 0 });
  const origin = `127.0.0.1:${(app.server.server.address() as AddressInfo).port}`;
  const fabric = new ClientBuilder((hcClient: unknown) => hcClient)
    .withCredential(new BasicCredentials().withAk(String(huawei.id)).withSk(String(huawei.secret)))
    .withEndpoint(`http://${origin}`)
    .build();
  let changes = 0;
  /** The Fabric script: renames every client in turn, rotating its secret every third round, until `done`. */
  const renameClients = async (done: () => boolean) => {
    for (let round = 0; !done(); round++)
      await inPool(
        Array.from({ length: CLIENTS }, (_, i) => `script-${i}`),
        4,
        async (id) => {
          const answer = await fabric.sendRequest({
            method: 'PUT',
            url: '/v1/access-clients/{client_id}',
            contentType: 'application/json',
            pathParams: { client_id: id },
            queryParams: {},
            headers: {},
            data: { name: `renamed ${round}` },
          });
          assert.equal(answer.httpStatusCode, 200);
          changes++;
          if (round % 3 === 0) {
            await call('POST', `${WS}/access-clients/${id}/secrets`, { gracePeriodSeconds: 60 });
            changes++;
          }
        },
      );
  };
  return {
    app,
    origin,
    ids,
    alibaba: { id: alibaba.id as string, secret: alibaba.secret as string },
    renameClients,
    clientChanges: () => changes,
  };
}

async function main() {
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  const suffix = randomBytes(4).toString('hex');
  const schemas = { plugboard: `bench_pb_${suffix}`, bare: `bench_bare_${suffix}` };
  for (const schema of Object.values(schemas)) await admin.query(`create schema ${schema}`);
  try {
    say(`creating ${CONNECTIONS} connections in plugboard…`);
    const plugboard = await startPlugboard(schemas.plugboard);
    const bare = await startBare(schemas.bare, plugboard.alibaba);
    const rows: string[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const script = (origin: string) => async (): Promise<ScriptRun> => {
        const order = { origin, key: plugboard.alibaba, ids: plugboard.ids };
        if (SCRIPT === 'process') return updateConnectionsElsewhere(order);
        return { seconds: await updateConnections(order.origin, order.key, order.ids) };
      };
      const bareRun = await measured(admin, schemas.bare, script(bare.origin));
      const alone = await measured(admin, schemas.plugboard, script(plugboard.origin));
      let finished = false;
      const fabric = plugboard.renameClients(() => finished);
      const together = await measured(admin, schemas.plugboard, script(plugboard.origin));
      finished = true;
      await fabric;
      const perUpdate = (ms: number) => ((ms * 1000) / CONNECTIONS).toFixed(0);
      const cell = ({ seconds, nodeMs, scriptMs, postgresMs }: Phase) =>
        `${(CONNECTIONS / seconds).toFixed(0)}/s (${seconds.toFixed(1)} s, ${(bareRun.seconds / seconds).toFixed(2)}×; ` +
        `CPU ${perUpdate(nodeMs)}${scriptMs === undefined ? '' : ` + ${perUpdate(scriptMs)}`} + ${perUpdate(postgresMs)} µs)`;
      rows.push(`| ${round} | ${cell(bareRun)} | ${cell(alone)} | ${cell(together)} | ${loadavg()[0]!.toFixed(1)} |`);
      say(rows.at(-1)!);
    }
    // One audit event per change: every connection updated once per round, every Fabric rename and rotation.
    const events = await plugboard.app.db.kysely
      .selectFrom('audit_events')
      .select(({ fn }) => ['action', fn.countAll<number>().as('n')])
      .where('action', 'in', ['connection:update', 'access-client:update', 'access-client:rotate-secret'])
      .groupBy('action')
      .execute();
    const count = (action: string) => Number(events.find((e) => e.action === action)?.n ?? 0);
    // Plugboard's two runs per round update every connection twice.
    assert.equal(count('connection:update'), 2 * CONNECTIONS * ROUNDS, 'one event per connection update');
    assert.equal(
      count('access-client:update') + count('access-client:rotate-secret'),
      plugboard.clientChanges(),
      'one event per Fabric rename and native rotation',
    );
    process.stdout.write(
      `\nnew-user scenario, PostgreSQL, ${CONNECTIONS} connections, ${WORKERS} calls in flight (UpdateConnection, official SDK, ` +
        `the script ${SCRIPT === 'process' ? 'in a process of its own' : "in the servers' process"})\n\n` +
        '| round | bare Fastify + pg | plugboard, DataWorks script alone | plugboard, with the Fabric script | load (1 min) |\n|---|---|---|---|---|\n' +
        `${rows.join('\n')}\n\n(×: the bare server's time ÷ this one; CPU per update: ${
          SCRIPT === 'process'
            ? "this process, which runs the server (and the Fabric script), + the DataWorks script's own process"
            : 'this process, which runs the server and the SDK clients'
        } + the PostgreSQL backends of that server's schema and the WAL writer, checkpointer and background writer)\n` +
        `audit: ${count('connection:update')} connection:update events for ${2 * CONNECTIONS * ROUNDS} updates; ` +
        `${plugboard.clientChanges()} client renames and rotations, as many events\n`,
    );
    await bare.close();
    await plugboard.app.close();
  } finally {
    for (const schema of Object.values(schemas)) await admin.query(`drop schema if exists ${schema} cascade`);
    await admin.end();
  }
}

if (SCRIPT_CHILD) runAsScriptChild();
else await main();
