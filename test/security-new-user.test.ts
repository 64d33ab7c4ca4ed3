// The walk-through, as an operator and an attacker would try it: plugboard run for two teams with
// EGRESS_DENY_PRIVATE=true; team A's editor tries to read team B's data, to send A's owner's database password to
// a listener of their own, to reach the cloud metadata address and the private network, and to stop the node with
// one upload. Each attempt gets a clear refusal, and the node keeps answering throughout.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { oversizedToolDocument } from './support/bomb-documents.js';
import { startLoopProbe } from './support/loop-probe.js';
import { ENGINES, startTestApp, type TestApp } from './support/stores.js';

const API = '/api/v1/workspaces';
const OWNER_PASSWORD = 'team-a-owner-db-password-7f3e';

/** A TCP listener of the attacker's that records every byte it is sent. */
async function listen(): Promise<{
  port: number;
  connections: () => number;
  received: () => string;
  close(): Promise<void>;
}> {
  const sockets = new Set<Socket>();
  let connections = 0;
  let received = '';
  const server: Server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    setTimeout(() => socket.destroy(), 50);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    received: () => received,
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

for (const engine of ENGINES) {
  describe(`two teams on one plugboard with EGRESS_DENY_PRIVATE=true [${engine}]`, () => {
    let app: TestApp;
    let base: string;
    let attacker: Awaited<ReturnType<typeof listen>>;
    let editorA: string;
    let ownerConnection: number;

    before(async () => {
      attacker = await listen();
      app = await startTestApp(engine, { env: { EGRESS_DENY_PRIVATE: 'true', RECONCILE_INTERVAL_MS: '3600000' } });
      await app.server.listen({ port: 0, host: '127.0.0.1' });
      base = `http://127.0.0.1:${(app.server.server.address() as AddressInfo).port}`;
      for (const id of ['team-a', 'team-b']) {
        assert.equal((await app.call('POST', API, { body: { id, name: id } })).status, 201);
      }
      const key = await app.call('POST', `${API}/team-a/api-keys`, { body: { name: 'a-editor', role: 'editor' } });
      assert.equal(key.status, 201, key.text);
      editorA = key.body.key;
      const secretOfB = await app.call('POST', `${API}/team-b/connections`, {
        body: {
          name: 'b-db',
          type: 'postgresql',
          content: { host: 'db.team-b.internal', port: 5432, database: 'b', username: 'b', password: 'team-b-secret' },
        },
      });
      assert.equal(secretOfB.status, 201, secretOfB.text);
      const owned = await app.call('POST', `${API}/team-a/connections`, {
        body: {
          name: 'a-db',
          type: 'postgresql',
          content: { host: 'db.team-a.internal', port: 5432, database: 'a', username: 'a', password: OWNER_PASSWORD },
        },
      });
      assert.equal(owned.status, 201, owned.text);
      ownerConnection = owned.body.id;
    });

    after(async () => {
      await app?.stop();
      await attacker?.close();
    });

    const asEditor = (method: string, url: string, body?: unknown) => app.call(method, url, { key: editorA, body });

    it("refuses team A's editor everything of team B, as if it did not exist", async () => {
      for (const path of ['', '/connections', '/toolsets', '/audit']) {
        const reply = await asEditor('GET', `${API}/team-b${path}`);
        assert.equal(reply.status, 404, `${path}: ${reply.text}`);
        assert.ok(!reply.text.includes('team-b-secret'));
      }
    });

    it("refuses to send the owner's password to the editor's listener, and the listener hears nothing", async () => {
      const url = `${API}/team-a/connections/${ownerConnection}`;
      const moved = await asEditor('PATCH', url, {
        content: { host: '127.0.0.1', port: attacker.port, password: '******' },
      });
      assert.equal(moved.status, 400, moved.text);
      assert.match(moved.text, /enter the secret again when you change where it is sent/);
      const omitted = await asEditor('PATCH', url, { content: { host: '127.0.0.1', port: attacker.port } });
      assert.equal(omitted.status, 400, omitted.text);
      const tested = await asEditor('POST', `${url}/test`);
      assert.equal(tested.status, 200, tested.text);
      assert.equal(attacker.connections(), 0);
      assert.ok(!attacker.received().includes(OWNER_PASSWORD));
      const read = await asEditor('GET', url);
      assert.equal(read.body.content.host, 'db.team-a.internal', 'the connection still points where the owner put it');
      assert.equal(read.body.content.password, '******');
    });

    it('refuses connection tests to the cloud metadata address and to the private network, naming the policy', async () => {
      const cases = [
        { host: '169.254.169.254', reason: /link-local/ },
        { host: '0251.0376.0251.0376', reason: /link-local/ },
        { host: '10.0.0.5', reason: /EGRESS_DENY_PRIVATE=true/ },
        { host: '127.0.0.1', reason: /EGRESS_DENY_PRIVATE=true/ },
      ];
      for (const { host, reason } of cases) {
        const reply = await asEditor('POST', `${API}/team-a/connections?test=true`, {
          name: `probe-${host}`,
          type: 'http',
          content: { url: `http://${host}:${attacker.port}/latest/meta-data/` },
        });
        // A create that asks for a test first saves nothing when the test fails.
        assert.equal(reply.status, 422, reply.text);
        assert.match(reply.body.detail, /refused by the egress policy/);
        assert.match(reply.body.detail, reason);
      }
      assert.equal(attacker.connections(), 0, 'not one packet reached the private network');
    });

    it('keeps answering /healthz while the editor uploads a document built to stop the node, which ends Failed', async (t) => {
      // Built before probing starts: the test's client shares the node's event loop.
      const upload = JSON.stringify({
        name: 'bomb',
        // A schema shared by many operations is kept once and now installs (test/bounded-work.test.ts); what must
        // still be refused is one operation whose own body is over the per-tool limit.
        spec: { schema: { type: 'OpenAPI', detail: oversizedToolDocument() } },
      });
      const probe = startLoopProbe(base);
      let toolset: any;
      try {
        const created = await fetch(`${base}${API}/team-a/toolsets`, {
          method: 'POST',
          headers: { authorization: `Bearer ${editorA}`, 'content-type': 'application/json' },
          body: upload,
        });
        assert.equal(created.status, 201, await created.text());
        const deadline = Date.now() + 60_000;
        for (;;) {
          const reply = await app.call('GET', `${API}/team-a/toolsets/bomb`, { key: editorA });
          if (reply.body.status.observedGeneration === reply.body.generation) {
            toolset = reply.body;
            break;
          }
          assert.ok(Date.now() < deadline, 'the toolset was not reconciled within 60 s');
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      } finally {
        await probe.stop();
      }
      const report = await probe.stop();
      t.diagnostic(`/healthz at most ${report.maxHealthzMs.toFixed(1)} ms over ${report.probes} probes`);
      assert.equal(toolset.status.phase, 'Failed');
      assert.match(toolset.status.message, /TOOLSET_MAX_TOOL_SCHEMA_BYTES/);
      assert.ok(report.probes > 3, `only ${report.probes} probes`);
      // The node promises ~100 ms; the margin is for two shared, busy cores (test/bounded-work.test.ts holds it closer).
      assert.ok(report.maxHealthzMs < 750, `/healthz took ${report.maxHealthzMs} ms`);
      const health = await fetch(`${base}/healthz`);
      assert.equal(health.status, 200);
    });
  });
}
