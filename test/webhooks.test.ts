// Outgoing webhooks: events of the real upstream OAuth flows (npm oidc-provider as the provider), delivered signed
// to a real HTTP receiver, retried, listed; the egress policy on save; several nodes on one PostgreSQL store.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { freePort } from './support/oauth-flow.js';
import { startOAuthUpstream, type OAuthUpstream } from './support/oauth-upstream.js';
import { cookiesSet } from './support/people.js';
import { openStored, placeOfStored } from './support/sealed.js';
import { insertDeliveries, pruneDeliveries } from '../src/storage/webhook-repo.js';
import { ENGINES, startTestApp, type TestApp } from './support/stores.js';
import { settledToolset } from './support/toolsets.js';
import {
  startWebhookReceiver,
  verifySignature,
  type Received,
  type WebhookReceiver,
} from './support/webhook-receiver.js';

const WS = '/api/v1/workspaces/default';
const HOUR_MS = 3600_000;
const SECRET = 'a-webhook-secret-only-plugboard-and-the-receiver-know';
const EVENT_TYPES = [
  'connection.connected',
  'connection.refresh_failed',
  'connection.reconnect_required',
  'connection.recovered',
];
const ENV = {
  OAUTH_REFRESH_ATTEMPTS: '1',
  WEBHOOK_POLL_INTERVAL_MS: '50',
  WEBHOOK_RETRY_BASE_MS: '100',
  WEBHOOK_RETRY_MAX_DELAY_MS: '300',
  WEBHOOK_MAX_ATTEMPTS: '3',
  WEBHOOK_TIMEOUT_MS: '3000',
};

for (const engine of ENGINES) {
  describe(`outgoing webhooks [${engine}]`, () => {
    let offsetMs = 0;
    const clock = { now: () => new Date(Date.now() + offsetMs).toISOString() };
    let app: TestApp;
    let base: string;
    let provider: OAuthUpstream;
    let receiver: WebhookReceiver;
    let agentSecret: string;
    let connectionId: number;
    let connectionUid: string;
    let webhookId: string;
    /** Every answer of the API in this suite, to look for the secret in. */
    const answers: string[] = [];

    before(async () => {
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      provider = await startOAuthUpstream(`${base}/oauth/callback`);
      receiver = await startWebhookReceiver();
      app = await startTestApp(engine, { clock, env: { PUBLIC_URL: base, ...ENV } });
      await app.server.listen({ port, host: '127.0.0.1' });
      const connector = await app.call('POST', `${WS}/connectors`, {
        body: {
          id: 'records',
          name: 'records',
          baseUrl: provider.apiUrl,
          authSchemeConfigs: [
            {
              id: 'oauth',
              schemeType: 'oauth2-code',
              config: {
                authorizeUrl: `${provider.issuer}/auth`,
                tokenUrl: `${provider.issuer}/token`,
                issuer: provider.issuer,
                clientId: 'plugboard-app',
                clientSecret: 'a-client-secret-only-the-provider-and-plugboard-know',
                scopes: 'read write',
              },
            },
          ],
        },
      });
      assert.equal(connector.status, 201, connector.text);
      const connection = await app.call('POST', `${WS}/connections`, {
        body: { connectorId: 'records', name: 'records-main', type: 'http' },
      });
      assert.equal(connection.status, 201, connection.text);
      connectionId = connection.body.id;
      connectionUid = connection.body.uid;
      const toolset = await app.call('POST', `${WS}/toolsets`, {
        body: { name: 'records', spec: { schema: { type: 'OpenAPI', detail: provider.document() }, connectionId } },
      });
      assert.equal(toolset.status, 201, toolset.text);
      await settledToolset(app, 'records');
      const agent = await app.call('POST', `${WS}/access-clients`, { body: { name: 'agent', toolsets: ['*'] } });
      assert.equal(agent.status, 201, agent.text);
      agentSecret = agent.body.secret;
    });
    after(async () => {
      await app?.stop();
      await provider?.close();
      await receiver?.close();
    });

    const call = async (method: string, url: string, options: Parameters<TestApp['call']>[2] = {}) => {
      const reply = await app.call(method, url, options);
      answers.push(reply.text, JSON.stringify(reply.headers));
      return reply;
    };
    async function callTool(): Promise<CallToolResult> {
      const client = new Client({ name: 'webhook-test-agent', version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${base}/mcp/default/records`), {
          requestInit: { headers: { authorization: `Bearer ${agentSecret}` } },
        }),
      );
      try {
        return (await client.callTool({ name: 'whoAmI', arguments: {} })) as CallToolResult;
      } finally {
        await client.close();
      }
    }
    const textOf = (result: CallToolResult) => (result.content[0] as { text: string }).text;
    /** Opens a connect link in a "browser" and lets the provider authorize it, as a person connecting would. */
    async function connectThrough(link: string) {
      const opened = await app.server.inject({ method: 'POST', url: new URL(link).pathname });
      assert.equal(opened.statusCode, 303, opened.body);
      const cookie = cookiesSet(opened.headers).get('pb_connect')!;
      const back = await provider.authorize(String(opened.headers.location));
      const finished = await app.server.inject({
        method: 'GET',
        url: `${back.pathname}${back.search}`,
        headers: { cookie: `pb_connect=${cookie.value}` },
      });
      assert.equal(finished.statusCode, 200, finished.body);
    }
    /** A webhook's delivery of an event, once it has `status` (the receiver sees a request before its outcome is written). */
    async function deliveryOf(id: string, eventId: string, status: string): Promise<Record<string, any> | undefined> {
      let found: Record<string, any> | undefined;
      for (let i = 0; i < 400 && found?.status !== status; i++) {
        if (i > 0) await new Promise((resolve) => setTimeout(resolve, 25));
        const page = await call('GET', `${WS}/webhooks/${id}/deliveries`);
        assert.equal(page.status, 200, page.text);
        found = page.body.items.find((d: { eventId: string }) => d.eventId === eventId);
      }
      return found;
    }
    /** Waits until no delivery is pending (claimed or due). */
    async function noneInFlight() {
      for (let i = 0; i < 400; i++) {
        const pending = await app.db.kysely
          .selectFrom('webhook_deliveries')
          .select('id')
          .where('status', '=', 'pending')
          .execute();
        if (pending.length === 0) return;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      assert.fail('deliveries still pending after 10 s');
    }
    const ofType = (type: string) => (r: Received) => (JSON.parse(r.body) as { type: string }).type === type;
    /** Checks a request the receiver got: signed with the secret, headers and body of one event about the connection. */
    function checkEvent(request: Received, type: string, state: string, error: RegExp | null) {
      const nowSeconds = Math.floor(Date.parse(clock.now()) / 1000);
      assert.ok(
        verifySignature(SECRET, request.headers['plugboard-signature'] as string, request.body, nowSeconds),
        'the signature verifies with the recipe of docs/webhooks.md',
      );
      assert.ok(
        !verifySignature(
          'another secret entirely',
          request.headers['plugboard-signature'] as string,
          request.body,
          nowSeconds,
        ),
      );
      assert.equal(request.headers['content-type'], 'application/json');
      const body = JSON.parse(request.body) as Record<string, any>;
      assert.match(body.id, /^evt_[a-z0-9]{16}$/);
      assert.equal(request.headers['plugboard-event-id'], body.id);
      assert.equal(request.headers['plugboard-event-type'], type);
      assert.equal(body.type, type);
      assert.equal(body.workspaceId, 'default');
      assert.deepEqual(body.connection, { id: connectionId, uid: connectionUid, name: 'records-main' });
      assert.equal(body.state, state);
      assert.ok(!Number.isNaN(Date.parse(body.time)));
      if (error) assert.match(body.error, error);
      else assert.equal(body.error, null);
      for (const token of provider.apiCalls.map((c) => c.token)) {
        if (token) assert.ok(!request.body.includes(token), 'no token in an event');
      }
      assert.ok(!request.body.includes(SECRET) && !JSON.stringify(request.headers).includes(SECRET));
    }

    it('refuses a webhook URL the egress policy denies, or that is not plain http(s), with a clear 400', async () => {
      const refused = [
        [
          'http://169.254.169.254/latest/meta-data',
          /refused by the egress policy: 169\.254\.169\.254 is a link-local address/,
        ],
        ['http://[::ffff:169.254.169.254]/hook', /refused by the egress policy/],
        ['ftp://127.0.0.1/hook', /must use http or https, not ftp/],
        ['http://user:password@127.0.0.1/hook', /must not carry a user name or password/],
        ['not a url', /is not an absolute URL/],
        [`${base}/hook`, /plugboard's own listener/],
      ] as const;
      for (const [url, message] of refused) {
        const reply = await call('POST', `${WS}/webhooks`, { body: { url, eventTypes: EVENT_TYPES, secret: SECRET } });
        assert.equal(reply.status, 400, `${url}: ${reply.text}`);
        assert.equal(reply.body.code, 'validation-failed');
        assert.equal(reply.body.errors[0].path, '/url');
        assert.match(reply.body.errors[0].message, message);
      }
      const unknownEvent = await call('POST', `${WS}/webhooks`, {
        body: { url: receiver.url, eventTypes: ['connection.exploded'], secret: SECRET },
      });
      assert.equal(unknownEvent.status, 400, unknownEvent.text);
      const shortSecret = await call('POST', `${WS}/webhooks`, {
        body: { url: receiver.url, eventTypes: EVENT_TYPES, secret: 'short' },
      });
      assert.equal(shortSecret.status, 400, shortSecret.text);
      assert.deepEqual((await call('GET', `${WS}/webhooks`)).body.items, [], 'nothing was saved');
    });

    it('creates, reads, patches (If-Match) and deletes webhooks; the secret is write-only', async () => {
      const created = await call('POST', `${WS}/webhooks`, {
        body: { url: receiver.url, description: 'ops', eventTypes: EVENT_TYPES, secret: SECRET },
      });
      assert.equal(created.status, 201, created.text);
      webhookId = created.body.id;
      assert.match(webhookId, /^whk_/);
      assert.equal(created.headers.location, `${WS}/webhooks/${webhookId}`);
      assert.equal(created.body.secret, '******');
      assert.equal(created.body.enabled, true);
      const etag = String(created.headers.etag);

      const generated = await call('POST', `${WS}/webhooks`, {
        body: { url: receiver.url, eventTypes: ['connection.connected'], enabled: false },
      });
      assert.equal(generated.status, 201, generated.text);
      assert.match(generated.body.secret, /^whsec_[\w-]{43}$/, 'a generated secret is shown once');
      assert.equal(generated.headers['cache-control'], 'no-store');
      const again = await call('GET', `${WS}/webhooks/${generated.body.id}`);
      assert.equal(again.body.secret, '******');
      assert.ok(!again.text.includes(generated.body.secret));

      const stale = await call('PATCH', `${WS}/webhooks/${webhookId}`, {
        body: { description: 'changed' },
        headers: { 'if-match': '"99-x"' },
      });
      assert.equal(stale.status, 412, stale.text);
      const patched = await call('PATCH', `${WS}/webhooks/${webhookId}`, {
        body: { description: 'changed', secret: '******' },
        headers: { 'if-match': etag },
      });
      assert.equal(patched.status, 200, patched.text);
      assert.equal(patched.body.description, 'changed');
      assert.equal(patched.body.revision, 2);
      assert.notEqual(patched.headers.etag, etag);
      const denied = await call('PATCH', `${WS}/webhooks/${webhookId}`, { body: { url: 'http://169.254.169.254/' } });
      assert.equal(denied.status, 400, denied.text);
      const unset = await call('PATCH', `${WS}/webhooks/${webhookId}`, { body: { secret: null } });
      assert.equal(unset.status, 400, unset.text);
      assert.equal(
        (
          await call('GET', `${WS}/webhooks/${webhookId}`, {
            headers: { 'if-none-match': String(patched.headers.etag) },
          })
        ).status,
        304,
      );

      const list = await call('GET', `${WS}/webhooks`);
      assert.deepEqual(list.body.items.map((w: { id: string }) => w.id).sort(), [webhookId, generated.body.id].sort());
      const removed = await call('DELETE', `${WS}/webhooks/${generated.body.id}`);
      assert.equal(removed.status, 204, removed.text);
      assert.equal((await call('GET', `${WS}/webhooks/${generated.body.id}`)).status, 404);

      // At rest: sealed for the webhook, where `keys rewrap` finds it.
      const stored = await app.db.kysely
        .selectFrom('webhooks')
        .select('secret')
        .where('id', '=', webhookId)
        .executeTakeFirstOrThrow();
      assert.ok(!stored.secret.includes(SECRET));
      const sealed = JSON.parse(stored.secret) as string;
      assert.equal(await openStored(app.db, app.vault, sealed), SECRET);
      assert.equal((await placeOfStored(app.db, sealed)).path, '/secret');

      const audit = await call('GET', `${WS}/audit?resourceType=webhook`);
      assert.equal(audit.status, 200, audit.text);
      const actions = audit.body.items.map((e: { action: string }) => e.action);
      assert.deepEqual(actions.sort(), ['webhook:create', 'webhook:create', 'webhook:delete', 'webhook:update'].sort());
      const creation = audit.body.items.find(
        (e: { resourceId: string; toRevision: number }) => e.resourceId === webhookId && e.toRevision === 1,
      );
      assert.ok(creation.changedFields.includes('secret'));
    });

    it('refuses an editor, who may change connections but not webhooks', async () => {
      const key = await call('POST', `${WS}/api-keys`, { body: { name: 'editor', role: 'editor' } });
      assert.equal(key.status, 201, key.text);
      for (const [method, url, body] of [
        ['GET', `${WS}/webhooks`, undefined],
        ['GET', `${WS}/webhooks/${webhookId}/deliveries`, undefined],
        ['POST', `${WS}/webhooks`, { url: receiver.url, eventTypes: EVENT_TYPES }],
        ['PATCH', `${WS}/webhooks/${webhookId}`, { enabled: false }],
        ['DELETE', `${WS}/webhooks/${webhookId}`, undefined],
      ] as const) {
        const reply = await call(method, url, { key: key.body.key, body });
        assert.equal(reply.status, 403, `${method} ${url}: ${reply.text}`);
      }
    });

    it('delivers connection.connected, signed, when a person connects through the provider', async () => {
      const started = await call('POST', `${WS}/connections/${connectionId}/connect`, { body: { handOff: true } });
      assert.equal(started.status, 200, started.text);
      await connectThrough(started.body.connectUrl);
      const [event] = await receiver.waitFor(ofType('connection.connected'));
      checkEvent(event!, 'connection.connected', 'connected', null);
      assert.equal((await callTool()).isError, undefined);

      const delivery = (await deliveryOf(webhookId, JSON.parse(event!.body).id as string, 'delivered'))!;
      assert.equal(delivery.status, 'delivered');
      assert.equal(delivery.attempts, 1);
      assert.equal(delivery.lastStatus, 200);
      assert.equal(delivery.nextAttemptAt, null);
      assert.equal(delivery.eventId, JSON.parse(event!.body).id);
      assert.deepEqual(delivery.payload, JSON.parse(event!.body));
    });

    it('delivers connection.refresh_failed once per change of state, then connection.recovered', async () => {
      offsetMs += HOUR_MS;
      provider.failTokenRequests = 100;
      try {
        const failed = await callTool();
        assert.equal(failed.isError, true);
        const [event] = await receiver.waitFor(ofType('connection.refresh_failed'));
        checkEvent(event!, 'connection.refresh_failed', 'degraded', /503/);
        assert.equal((await callTool()).isError, true, 'still failing');
      } finally {
        provider.failTokenRequests = 0;
      }
      const recovered = await callTool();
      assert.equal(recovered.isError, undefined, textOf(recovered));
      const [event] = await receiver.waitFor(ofType('connection.recovered'));
      checkEvent(event!, 'connection.recovered', 'connected', null);
      assert.equal(receiver.received.filter(ofType('connection.refresh_failed')).length, 1, 'not once per failed call');
    });

    it('delivers connection.reconnect_required for a revoked grant, and connection.recovered once reconnected', async () => {
      await callTool();
      await provider.revokeGrantOf(provider.apiCalls.at(-1)!.token!);
      offsetMs += HOUR_MS;
      const result = await callTool();
      assert.equal(result.isError, true);
      const [required] = await receiver.waitFor(ofType('connection.reconnect_required'));
      checkEvent(required!, 'connection.reconnect_required', 'reconnect-required', /invalid_grant/);
      const failed = await receiver.waitFor(ofType('connection.refresh_failed'), 2);
      checkEvent(failed[1]!, 'connection.refresh_failed', 'reconnect-required', /invalid_grant/);

      assert.match(textOf(result), /\/oauth\/connect\//, 'the agent is told where to connect it');
      // That link is for someone signed in who may change the connection; a script hands out one of its own.
      const handedOut = await call('POST', `${WS}/connections/${connectionId}/connect`, { body: { handOff: true } });
      assert.equal(handedOut.status, 200, handedOut.text);
      await connectThrough(handedOut.body.connectUrl);
      const recovered = await receiver.waitFor(ofType('connection.recovered'), 2);
      checkEvent(recovered[1]!, 'connection.recovered', 'connected', null);
      const connected = await receiver.waitFor(ofType('connection.connected'), 2);
      checkEvent(connected[1]!, 'connection.connected', 'connected', null);
      assert.equal((await callTool()).isError, undefined);
    });

    it('retries a receiver that answered 500, gives up on one that never answers, and lists both', async () => {
      const dead = await freePort();
      const unreachable = await call('POST', `${WS}/webhooks`, {
        body: { url: `http://127.0.0.1:${dead}/hook`, eventTypes: ['connection.refresh_failed'], secret: SECRET },
      });
      assert.equal(unreachable.status, 201, unreachable.text);
      receiver.answers.push(500);
      const before = receiver.received.length;
      offsetMs += HOUR_MS;
      provider.failTokenRequests = 100;
      try {
        await callTool();
      } finally {
        provider.failTokenRequests = 0;
      }
      const sent = await receiver.waitFor(ofType('connection.refresh_failed'), 4);
      const [first, second] = receiver.received.slice(before);
      assert.equal(first!.body, second!.body, 'the same body on every attempt');
      assert.equal(first!.headers['plugboard-event-id'], second!.headers['plugboard-event-id']);
      checkEvent(sent[3]!, 'connection.refresh_failed', 'degraded', /503/);

      const eventId = JSON.parse(first!.body).id as string;
      const retried = await deliveryOf(webhookId, eventId, 'delivered');
      assert.equal(retried?.status, 'delivered');
      assert.equal(retried?.attempts, 2);
      assert.equal(retried?.lastStatus, 200);

      const gaveUp = await deliveryOf(unreachable.body.id, eventId, 'failed');
      assert.equal(gaveUp?.status, 'failed', JSON.stringify(gaveUp));
      assert.equal(gaveUp?.attempts, 3, 'WEBHOOK_MAX_ATTEMPTS');
      assert.equal(gaveUp?.nextAttemptAt, null);
      assert.equal(gaveUp?.lastStatus, null);
      assert.match(gaveUp?.lastError, /ECONNREFUSED/);
      const onlyFailed = await call('GET', `${WS}/webhooks/${unreachable.body.id}/deliveries?status=failed`);
      assert.equal(onlyFailed.body.items.length, 1);
      const noneDelivered = await call('GET', `${WS}/webhooks/${unreachable.body.id}/deliveries?status=delivered`);
      assert.equal(noneDelivered.body.items.length, 0);
      await call('DELETE', `${WS}/webhooks/${unreachable.body.id}`);
      assert.equal((await callTool()).isError, undefined);
      await receiver.waitFor(ofType('connection.recovered'), 3);
    });

    it('checks the egress policy again at each delivery: an address denied by then gets no packet', async () => {
      const hook = await call('POST', `${WS}/webhooks`, {
        body: { url: receiver.url, eventTypes: ['connection.refresh_failed'], secret: SECRET },
      });
      assert.equal(hook.status, 201, hook.text);
      // Where a name that resolved to an allowed address when the webhook was saved may point at delivery time
      // (DNS rebinding): the cloud metadata address, which the policy always denies.
      await app.db.kysely
        .updateTable('webhooks')
        .set({ url: 'http://169.254.169.254/latest/meta-data/' })
        .where('id', '=', hook.body.id)
        .execute();
      offsetMs += HOUR_MS;
      provider.failTokenRequests = 100;
      try {
        await callTool();
      } finally {
        provider.failTokenRequests = 0;
      }
      let refused: Record<string, any> | undefined;
      for (let i = 0; i < 400 && refused === undefined; i++) {
        if (i > 0) await new Promise((resolve) => setTimeout(resolve, 25));
        const page = await call('GET', `${WS}/webhooks/${hook.body.id}/deliveries?status=failed`);
        assert.equal(page.status, 200, page.text);
        refused = page.body.items[0];
      }
      assert.ok(refused, 'the delivery ended failed');
      assert.equal(refused.lastStatus, null, 'no answer: nothing was sent');
      assert.equal(refused.attempts, 3);
      assert.match(refused.lastError, /egress policy/i);
      assert.match(refused.lastError, /169\.254\.169\.254/);
      await call('DELETE', `${WS}/webhooks/${hook.body.id}`);
      assert.equal((await callTool()).isError, undefined);
      await receiver.waitFor(ofType('connection.recovered'), 4);
    });

    if (engine === 'postgres') {
      it('delivers each event exactly once with two nodes on one store', async () => {
        const second = await startTestApp(engine, { clock, store: app.store, env: { PUBLIC_URL: base, ...ENV } });
        receiver.delayMs = 100;
        try {
          const before = receiver.received.length;
          for (let round = 0; round < 3; round++) {
            offsetMs += HOUR_MS;
            provider.failTokenRequests = 100;
            try {
              await callTool();
            } finally {
              provider.failTokenRequests = 0;
            }
            assert.equal((await callTool()).isError, undefined);
            // The next round moves the clock an hour on: that would end the claims of attempts still under way.
            await receiver.waitFor(() => true, before + 2 * (round + 1));
            await noneInFlight();
          }
          // Both nodes keep polling a while: nothing more may arrive.
          await new Promise((resolve) => setTimeout(resolve, 1000));
          const ids = receiver.received.slice(before).map((r) => r.headers['plugboard-event-id']);
          assert.equal(ids.length, 6, 'three failures and three recoveries');
          assert.equal(new Set(ids).size, 6, 'no event delivered twice');
        } finally {
          receiver.delayMs = 0;
          await second.close();
        }
      });
    }

    it('prunes finished deliveries past the newest kept per webhook and past their age, never pending ones', async () => {
      const idsOf = async () =>
        (
          await app.db.kysely
            .selectFrom('webhook_deliveries')
            .select(['id', 'status'])
            .where('webhook_id', '=', webhookId)
            .orderBy('created_at', 'desc')
            .orderBy('id', 'desc')
            .execute()
        ).map((r) => `${r.id} ${r.status}`);
      // The test before waits for the receiver to get its last delivery, not for the dispatcher to record the answer:
      // that delivery may still be pending here, and a pending one counts among the newer rows of the prune.
      for (let i = 0; i < 200 && (await idsOf()).some((r) => r.endsWith(' pending')); i++)
        await new Promise((resolve) => setTimeout(resolve, 25));
      const far = '2999-01-01T00:00:00.000Z';
      await app.db.kysely.transaction().execute((tx) =>
        insertDeliveries(tx, [
          {
            id: 'whd_pendingforever0',
            webhook_id: webhookId,
            workspace_id: 'default',
            event_id: 'evt_pendingforever0',
            event_type: 'connection.connected',
            payload: '{}',
            status: 'pending',
            attempts: 0,
            next_attempt_at: far,
            last_attempt_at: null,
            last_status: null,
            last_error: null,
            created_at: '2000-01-01T00:00:00.000Z',
          },
        ]),
      );
      const before = await idsOf();
      const finished = before.filter((r) => r.endsWith(' delivered'));
      assert.ok(finished.length >= 5, before.join('\n'));
      await app.db.kysely.transaction().execute((tx) => pruneDeliveries(tx, '2000-01-01T00:00:00.000Z', 3));
      assert.deepEqual(await idsOf(), [...finished.slice(0, 3), 'whd_pendingforever0 pending']);
      await app.db.kysely.transaction().execute((tx) => pruneDeliveries(tx, far, 1000));
      assert.deepEqual(await idsOf(), ['whd_pendingforever0 pending']);
      await app.db.kysely.deleteFrom('webhook_deliveries').where('id', '=', 'whd_pendingforever0').execute();
    });

    it('never returns the secret in any answer, nor writes it to the audit log', async () => {
      const audit = await call('GET', `${WS}/audit?limit=200`);
      assert.equal(audit.status, 200);
      const openapi = await call('GET', '/openapi.json');
      assert.ok(openapi.body.paths['/api/v1/workspaces/{workspaceId}/webhooks/{webhookId}/deliveries']?.get);
      for (const text of answers) assert.ok(!text.includes(SECRET), text.slice(0, 200));
      const rows = await app.db.kysely.selectFrom('audit_events').selectAll().execute();
      assert.ok(!JSON.stringify(rows).includes(SECRET));
    });
  });
}
