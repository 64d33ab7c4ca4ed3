// The grant lists the console shows (a person's connected clients, a workspace's OAuth grants) name the person who
// approved each client and say when the client last got a token, on SQLite and PostgreSQL. The grant and its token
// issues are recorded through the OAuth service as the consent page and the token endpoint record them; the whole
// flow with the SDK client and Chromium is in console-people.test.ts and oauth-mcp-clients.test.ts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inviteAndJoin } from './support/people.js';
import { ENGINES, startTestApp, type TestApp } from './support/stores.js';

const WS = '/api/v1/workspaces/default';

interface ListedGrant {
  id: string;
  userId: string;
  userName: string | null;
  clientName: string;
  createdAt: string;
  lastTokenAt: string | null;
}

for (const engine of ENGINES) {
  describe(`OAuth grant lists name the person and the last token [${engine}]`, () => {
    let app: TestApp;
    let userId: string;
    let cookie: string;

    before(async () => {
      app = await startTestApp(engine);
      const joined = await inviteAndJoin(app, {
        email: 'grace@example.com',
        role: 'editor',
        password: 'grace has a long password',
        displayName: 'Grace Hopper',
      });
      userId = joined.userId;
      cookie = `pb_session=${joined.browser.jar.get('pb_session')}`;
    });
    after(async () => {
      await app?.stop();
    });

    async function listed(url: string, options: { cookie?: string } = {}): Promise<ListedGrant[]> {
      const reply = await app.call(
        'GET',
        url,
        options.cookie ? { key: null, headers: { cookie: options.cookie } } : {},
      );
      assert.equal(reply.status, 200, reply.text);
      return reply.body.items as ListedGrant[];
    }

    it('lists a grant with its user display name, no token yet, then the time of the latest token', async () => {
      await app.services.oauth.recordGrant({
        grantId: `grant-${engine}`,
        workspaceId: 'default',
        toolset: 'shop',
        toolsetUid: 'uid-of-shop',
        resource: 'http://127.0.0.1:8080/mcp/default/shop',
        userId,
        clientId: 'registered-client',
        clientName: 'Grace agent',
        scopes: ['mcp:read', 'mcp:call'],
        expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
        requestId: 'req-grant',
      });
      const [before] = await listed(`${WS}/oauth-grants`);
      assert.deepEqual(
        { userId: before!.userId, userName: before!.userName, lastTokenAt: before!.lastTokenAt },
        { userId, userName: 'Grace Hopper', lastTokenAt: null },
      );

      await app.services.oauth.recordTokenIssued(`grant-${engine}`, 'req-token-1');
      await app.services.oauth.recordTokenIssued(`grant-${engine}`, 'req-token-2');
      const audit = await app.call('GET', `${WS}/audit?limit=50`);
      const issued = (audit.body.items as { action: string; resourceId: string; at: string }[])
        .filter((e) => e.action === 'oauth-token:issue' && e.resourceId === `grant-${engine}`)
        .map((e) => e.at)
        .sort();
      assert.equal(issued.length, 2);

      const [workspaceView] = await listed(`${WS}/oauth-grants`);
      assert.equal(workspaceView!.lastTokenAt, issued[1], 'the latest token issue');
      assert.ok(workspaceView!.lastTokenAt >= workspaceView!.createdAt);
      const [ownView] = await listed('/api/v1/me/oauth-grants', { cookie });
      assert.deepEqual(ownView, workspaceView, "the person's own list says the same");
    });
  });
}
