import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import Fastify from 'fastify';
import mysql from 'mysql2/promise';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { webConsole } from '../src/api/console.js';
import { launchChromium } from './support/chromium.js';
import { ensureConsoleBuilt } from './support/console-build.js';
import {
  assertAccessible,
  assertNoSidewaysOverflow,
  checkPage as checkConsolePage,
  waitForExpression,
  withPage as withConsolePage,
} from './support/console-page.js';
import { OWNER_KEY, startTestApp, type TestApp } from './support/stores.js';
import { settledToolset } from './support/toolsets.js';
import { startUpstreamApi } from './support/upstream-api.js';

// The console only talks to the native API, whose storage behaviour the API tests cover on SQLite and
// PostgreSQL alike: the browser tests run on one engine (SQLite) to stay fast.

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The pages every test has looked at (by name), so that the last test can say none was left unchecked. */
const checkedPages = new Set<string>();
const WS = '/api/v1/workspaces/default';
const petstore = readFileSync(join(ROOT, 'src/openapi/fixtures/petstore-3.0.yaml'), 'utf8');

// A real MariaDB login with a password, so that a kept (or lost) secret shows in the connection test.
// Expressions evaluated in the page.
const STORED_KEY = `sessionStorage.getItem('plugboard.apiKey')`;
const CLIPBOARD = 'navigator.clipboard.readText()';

const MARIADB_USER = 'pb_console';
const MARIADB_PASSWORD = 'Pb-c0nsole-S3cret!';

async function createMariaDbLogin() {
  const db = await mysql.createConnection({
    host: '127.0.0.1',
    port: 3306,
    user: 'root',
    password: '',
    database: 'test',
  });
  try {
    await db.query(`CREATE USER IF NOT EXISTS '${MARIADB_USER}'@'%' IDENTIFIED BY '${MARIADB_PASSWORD}'`);
    await db.query(`ALTER USER '${MARIADB_USER}'@'%' IDENTIFIED BY '${MARIADB_PASSWORD}'`);
    await db.query(`GRANT ALL PRIVILEGES ON test.* TO '${MARIADB_USER}'@'%'`);
  } finally {
    await db.end();
  }
}

describe('web console in Chromium', () => {
  let app: TestApp;
  let browser: Browser;
  let base: string;

  before(async () => {
    ensureConsoleBuilt();
    await createMariaDbLogin();
    app = await startTestApp('sqlite', { env: { CONNECTION_TEST_TIMEOUT_MS: '3000' } });
    base = await app.server.listen({ port: 0, host: '127.0.0.1' });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await app?.stop();
  });

  /** A fresh tab (its own session storage) with the console's page checks (test/support/console-page.ts). */
  const withPage = (
    body: (page: Page, context: BrowserContext) => Promise<void>,
    options: { expectedStatuses?: number[] } = {},
  ) => withConsolePage(browser, base, body, options);

  /** axe in light, dark and at 390 px, no sideways overflow, screenshots; the name counts as checked. */
  const checkPage = (page: Page, name: string) => checkConsolePage(page, name, checkedPages);

  async function signIn(page: Page, path = '/console/') {
    await page.goto(`${base}${path}`);
    await page.getByLabel('API key').fill(OWNER_KEY);
    await page.getByLabel('API key').press('Enter');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  }

  const api = async (method: string, url: string, body?: unknown) => {
    const reply = await app.call(method, url, { body });
    assert.ok(reply.status < 300, `${method} ${url}: ${reply.status} ${reply.text}`);
    return reply;
  };

  it('refuses a wrong key with a 401 message, signs in with the right one and keeps it in session storage', async () => {
    await withPage(
      async (page) => {
        await page.goto(`${base}/console`);
        await page.getByLabel('API key').fill('pbk_wrong_key_0000000000');
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByRole('alert').filter({ hasText: 'That API key was not accepted (401).' }).waitFor();
        assert.equal(await page.evaluate(STORED_KEY), null);
        await checkPage(page, 'sign-in');

        await page.getByLabel('API key').fill(OWNER_KEY);
        await page.getByLabel('API key').press('Enter');
        await page.getByRole('heading', { name: 'Connectors' }).waitFor();
        assert.equal(await page.evaluate(STORED_KEY), OWNER_KEY);
        assert.equal(new URL(page.url()).pathname, '/console/w/default/connectors');
        await page.reload();
        await page.getByRole('heading', { name: 'Connectors' }).waitFor();
        await page.getByRole('button', { name: 'Sign out' }).click();
        await page.getByLabel('API key').waitFor();
        assert.equal(await page.evaluate(STORED_KEY), null);
      },
      { expectedStatuses: [401] },
    );
  });

  it('switches workspace and shows the connectors of the chosen one', async () => {
    await api('POST', '/api/v1/workspaces', { id: 'second', name: 'Second' });
    await api('POST', '/api/v1/workspaces/second/connectors', { id: 'only-in-second', name: 'Only in second' });
    await withPage(async (page) => {
      await signIn(page);
      await page.getByLabel('Workspace').selectOption('second');
      await page.getByRole('link', { name: 'Only in second' }).waitFor();
      assert.equal(new URL(page.url()).pathname, '/console/w/second/connectors');
      await page.getByRole('link', { name: 'Audit' }).click();
      await page.getByLabel('Workspace').selectOption('default');
      await page.getByRole('heading', { name: 'Audit' }).waitFor();
      assert.equal(new URL(page.url()).pathname, '/console/w/default/audit');
    });
  });

  it('pages through connectors with cursors and searches by name', async () => {
    await api('POST', '/api/v1/workspaces', { id: 'catalog', name: 'Catalog' });
    for (let i = 1; i <= 25; i++) {
      await api('POST', '/api/v1/workspaces/catalog/connectors', {
        id: `c${String(i).padStart(2, '0')}`,
        name: i % 5 === 0 ? `Zebra ${i}` : `Item ${i}`,
      });
    }
    await withPage(async (page) => {
      await signIn(page, '/console/w/catalog/connectors');
      const rows = page.locator('tbody tr');
      await page.getByRole('link', { name: 'Item 1', exact: true }).waitFor();
      assert.equal(await rows.count(), 20);
      await page.getByRole('button', { name: 'Next page' }).click();
      await page.getByText('Page 2').waitFor();
      await page.getByRole('link', { name: 'Item 24' }).waitFor();
      assert.equal(await rows.count(), 5);
      assert.ok(await page.getByRole('button', { name: 'Next page' }).isDisabled());
      await page.getByRole('button', { name: 'Previous page' }).click();
      await page.getByRole('link', { name: 'Item 1', exact: true }).waitFor();
      assert.equal(await rows.count(), 20);
      await page.getByLabel('Search by name').fill('zebra');
      await page.getByLabel('Search by name').press('Enter');
      await page.getByRole('link', { name: 'Zebra 25' }).waitFor();
      assert.equal(await rows.count(), 5);
      await checkPage(page, 'connectors');
    });
  });

  it('creates a connector by keyboard alone, shows field errors beside their fields, and disables the button while saving', async () => {
    await withPage(
      async (page) => {
        await signIn(page, '/console/w/default/connectors');
        await page.getByRole('link', { name: 'New connector' }).click();
        await page.getByLabel('Id', { exact: true }).focus();
        await page.keyboard.type('kb-made');
        await page.keyboard.press('Tab');
        await page.keyboard.type('Keyboard made');
        await page.getByLabel('Base URL').focus();
        await page.keyboard.type('not a url');
        assert.deepEqual(
          await Promise.all(
            ['Id', 'Name', 'Base URL'].map((label) => page.getByLabel(label, { exact: true }).inputValue()),
          ),
          ['kb-made', 'Keyboard made', 'not a url'],
        );
        // Hold the create until the in-flight state has been seen, however long that takes to show.
        let release!: () => void;
        const held = new Promise<void>((resolve) => (release = resolve));
        await page.route('**/api/v1/workspaces/default/connectors', async (route) => {
          await held;
          await route.continue();
        });
        await page.keyboard.press('Enter');
        const saving = page.getByRole('button', { name: 'Saving…' });
        await saving.waitFor();
        assert.ok(await saving.isDisabled());
        release();
        const baseUrl = page.locator('.field', { has: page.getByLabel('Base URL') });
        await baseUrl.locator('.field-error').waitFor();
        // In plain words, never the pattern behind them.
        assert.equal(
          await baseUrl.locator('.field-error').innerText(),
          'must be a web address starting with http:// or https://',
        );
        assert.equal(await page.getByLabel('Base URL').getAttribute('aria-invalid'), 'true');
        await checkPage(page, 'connector-field-error');

        await page.getByLabel('Base URL').fill('https://api.example.com');
        await page.getByLabel('Base URL').press('Enter');
        await page.getByRole('heading', { name: 'Connector Keyboard made' }).waitFor();
        assert.equal(new URL(page.url()).pathname, '/console/w/default/connectors/kb-made');
        const stored = await app.call('GET', `${WS}/connectors/kb-made`);
        assert.equal(stored.body.baseUrl, 'https://api.example.com');
      },
      { expectedStatuses: [400] },
    );
  });

  it('saves with If-Match, shows a 412 from another tab as "changed since you opened it", and names the edits a reload drops', async () => {
    await api('POST', `${WS}/connectors`, { id: 'shared', name: 'Shared', description: 'first' });
    await withPage(
      async (first, context) => {
        const second = await context.newPage();
        await signIn(first, '/console/w/default/connectors/shared');
        await signIn(second, '/console/w/default/connectors/shared');
        await first.getByLabel('Description', { exact: true }).fill('changed in the first tab');
        await first.getByRole('button', { name: 'Save connector' }).click();
        await first.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();

        await second.getByLabel('Name', { exact: true }).fill('Renamed in the second tab');
        await second.getByRole('button', { name: 'Save connector' }).click();
        await second.getByText('This connector was changed since you opened it.').waitFor();
        assert.ok(await second.getByRole('button', { name: 'Save connector' }).isDisabled());
        await checkPage(second, 'connector-412');
        await second.getByRole('button', { name: 'Reload the latest version' }).click();
        const notice = second.getByRole('status').filter({ hasText: 'Reloaded the latest version.' });
        await notice.waitFor();
        assert.match(await notice.innerText(), /Name: yours “Renamed in the second tab”, now “Shared”/);
        assert.equal(await second.getByLabel('Description', { exact: true }).inputValue(), 'changed in the first tab');
        assert.equal(await second.getByLabel('Name', { exact: true }).inputValue(), 'Shared');
        assert.equal((await app.call('GET', `${WS}/connectors/shared`)).body.name, 'Shared');

        await second.getByLabel('Name', { exact: true }).fill('Renamed after reload');
        await second.getByRole('button', { name: 'Save connector' }).click();
        await second.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
        const stored = (await app.call('GET', `${WS}/connectors/shared`)).body;
        assert.deepEqual([stored.name, stored.description], ['Renamed after reload', 'changed in the first tab']);
      },
      { expectedStatuses: [412] },
    );
  });

  it('shows default and latest version badges and reorders auth-scheme configs with the keyboard', async () => {
    await api('POST', `${WS}/connectors`, {
      id: 'ordered',
      name: 'Ordered',
      authSchemeConfigs: [
        { id: 'first', schemeType: 'bearer' },
        { id: 'second', schemeType: 'basic-auth' },
        { id: 'third', schemeType: 'api-key', config: { name: 'X-Key', in: 'header' } },
      ],
    });
    await api('POST', `${WS}/connectors/ordered/versions`, { name: 'v1', isDefault: true });
    await api('POST', `${WS}/connectors/ordered/versions`, { name: 'v2' });
    await withPage(async (page) => {
      await signIn(page, '/console/w/default/connectors');
      const row = page.locator('tr', { has: page.getByRole('link', { name: 'Ordered' }) });
      await row.waitFor();
      assert.match(await row.innerText(), /v1\s*default[\s\S]*v2\s*latest/);
      await page.getByRole('link', { name: 'Ordered' }).click();
      await page.getByRole('button', { name: 'Move third up' }).focus();
      await page.keyboard.press('Enter');
      await page.keyboard.press('Enter');
      const order = page.locator('.config-order li code');
      await waitForExpression(page, `document.querySelector('.config-order li code')?.textContent === 'third'`);
      assert.deepEqual(await order.allInnerTexts(), ['third', 'first', 'second']);
      // Focus followed the moved item: at the top, its "down" button holds it.
      assert.equal(await page.evaluate('document.activeElement?.getAttribute("aria-label")'), 'Move third down');
      await page.keyboard.press('Enter');
      assert.deepEqual(await order.allInnerTexts(), ['first', 'third', 'second']);
      await page.getByRole('button', { name: 'Save connector' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
      const stored = (await app.call('GET', `${WS}/connectors/ordered`)).body;
      assert.deepEqual(
        stored.authSchemeConfigs.map((c: { id: string }) => c.id),
        ['first', 'third', 'second'],
      );
      await page.getByRole('button', { name: 'Make v2 default' }).click();
      await page.getByRole('button', { name: 'Make v1 default' }).waitFor();
      const versions = (await app.call('GET', `${WS}/connectors/ordered`)).body.versions;
      assert.deepEqual(
        versions.map((v: { name: string; isDefault: boolean }) => [v.name, v.isDefault]),
        [
          ['v1', false],
          ['v2', true],
        ],
      );
      await checkPage(page, 'connector-edit');
    });
  });

  it('shows how many connections an edit of connection variables will change before saving', async () => {
    await api('POST', `${WS}/connectors`, {
      id: 'varied',
      name: 'Varied',
      connectionVariables: [{ name: 'region', value: 'eu' }],
    });
    for (const name of ['one', 'two'])
      await api('POST', `${WS}/connections`, {
        name,
        type: 'http',
        connectorId: 'varied',
        content: { url: 'http://127.0.0.1:1' },
      });
    await withPage(async (page) => {
      await signIn(page, '/console/w/default/connectors/varied');
      const variables = page.getByRole('group', { name: 'Connection variables' });
      await variables.getByLabel('Value 1').fill('us');
      const impact = page.getByTestId('variables-impact');
      await impact.waitFor();
      assert.match(await impact.innerText(), /replace the variables of 2 connections/);
      await page.getByRole('button', { name: 'Save connector' }).click();
      await page.getByRole('status').filter({ hasText: 'The variables of 2 connections changed.' }).waitFor();
      const connections = (await app.call('GET', `${WS}/connections?connectorId=varied`)).body.items;
      assert.deepEqual(
        connections.map((c: { variables: unknown }) => c.variables),
        [[{ name: 'region', value: 'us' }], [{ name: 'region', value: 'us' }]],
      );
    });
  });

  it('creates a MariaDB connection, keeps the masked password through an edit, and tests it against the real server', async () => {
    await withPage(async (page) => {
      await signIn(page, '/console/w/default/connections');
      await page.getByRole('link', { name: 'New connection' }).click();
      await page.getByLabel('Name', { exact: true }).waitFor();
      await checkPage(page, 'connection-new');
      await page.getByLabel('Name', { exact: true }).fill('orders-db');
      await page.getByLabel('Type').fill('mysql');
      await page.getByLabel('Environment').selectOption({ label: 'Production' });
      await page.getByLabel('username').fill(MARIADB_USER);
      await page.getByLabel('password').fill(MARIADB_PASSWORD);
      assert.equal(await page.getByLabel('password').getAttribute('type'), 'password');
      await page.getByLabel('database').fill('test');
      await page.getByRole('button', { name: 'Create connection' }).click();
      await page.getByRole('heading', { name: 'Connection orders-db' }).waitFor();
      const id = new URL(page.url()).pathname.split('/').pop()!;
      const stored = (await app.call('GET', `${WS}/connections/${id}`)).body;
      assert.deepEqual([stored.envType, stored.content.password, stored.content.port], [1, '******', 3306]);

      await page.reload();
      const password = page.getByLabel('password');
      await password.waitFor();
      assert.equal(await password.inputValue(), '');
      assert.equal(await password.getAttribute('placeholder'), '******');
      assert.equal(await page.getByLabel('Environment').inputValue(), '1');
      assert.ok(!(await page.content()).includes(MARIADB_PASSWORD));
      await checkPage(page, 'connection-edit');

      await page.getByLabel('Description').fill('orders, read by the reports');
      await page.getByRole('button', { name: 'Save connection' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
      await page.getByRole('button', { name: 'Test connection' }).click();
      const result = page.getByTestId('test-result');
      await result.waitFor();
      assert.match(await result.innerText(), /Test result: ok/);
      // The test moved the revision on (it records health); the open form can still be saved.
      await page.getByLabel('Description').fill('orders');
      await page.getByRole('button', { name: 'Save connection' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();

      // A wrong password typed in replaces the stored one, and the test says so.
      await page.getByLabel('password').fill('not-the-password');
      await page.getByRole('button', { name: 'Save connection' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
      await page.getByRole('button', { name: 'Test connection' }).click();
      await page.getByTestId('test-result').filter({ hasText: 'failing' }).waitFor();
      assert.match(await page.getByTestId('test-result').innerText(), /denied|authentication/i);

      await page.getByRole('link', { name: '← Connections' }).click();
      const row = page.locator('tr', { has: page.getByRole('link', { name: 'orders-db' }) });
      assert.match(await row.innerText(), /Production[\s\S]*failing/);
      await checkPage(page, 'connections');
    });
  });

  it('imports OpenAPI toolsets by paste and by file, with phase, failure message, tools, input schemas and a copyable MCP URL', async () => {
    await withPage(async (page) => {
      await signIn(page, '/console/w/default/toolsets');
      await page.getByRole('link', { name: 'Import OpenAPI' }).click();
      await page.getByLabel('Toolset name').waitFor();
      await checkPage(page, 'toolset-import');
      await page.getByLabel('Toolset name').fill('pets');
      await page.getByLabel('OpenAPI document').fill(petstore);
      await page.getByRole('button', { name: 'Import toolset' }).click();
      await page.getByRole('heading', { name: 'Toolset pets' }).waitFor();
      await page.getByTestId('phase').filter({ hasText: 'Installed' }).waitFor();
      await page.locator('summary', { hasText: 'listPets' }).click();
      const schema = page.getByLabel('Input schema of listPets');
      await schema.waitFor();
      assert.equal(JSON.parse(await schema.innerText()).type, 'object');
      const url = await page.getByTestId('mcp-url').innerText();
      // No PUBLIC_URL here: the URL offered for copying is on the address the browser opened the console at.
      assert.equal(url, `${base}/mcp/default/pets`);
      await page.getByRole('button', { name: 'Copy MCP URL' }).click();
      await page.getByRole('button', { name: 'Copied' }).waitFor();
      assert.equal(await page.evaluate(CLIPBOARD), url);
      await checkPage(page, 'toolset');

      await page.getByRole('link', { name: '← Toolsets' }).click();
      await page.getByRole('link', { name: 'Import OpenAPI' }).click();
      await page.getByLabel('OpenAPI file').setInputFiles({
        name: 'broken.yaml',
        mimeType: 'text/yaml',
        buffer: Buffer.from(petstore.replace('openapi: 3.0.3', 'openapi: 9.0.0')),
      });
      await page.getByText('Read broken.yaml').waitFor();
      assert.equal(await page.getByLabel('Toolset name').inputValue(), 'broken');
      await page.getByRole('button', { name: 'Import toolset' }).click();
      await page.getByTestId('phase').filter({ hasText: 'Failed' }).waitFor();
      assert.match(await page.getByTestId('reconcile-message').innerText(), /#\/openapi, line 1/);
      await page.getByRole('link', { name: '← Toolsets' }).click();
      await page.getByRole('link', { name: 'broken' }).waitFor();
      await checkPage(page, 'toolsets');
    });
  });

  it('creates an access client with its secret shown once and copied, then rotates, disables and restricts it', async () => {
    const toolset = await app.call('POST', `${WS}/toolsets`, {
      body: { name: 'clienttools', spec: { schema: { type: 'OpenAPI', detail: petstore } } },
    });
    assert.equal(toolset.status, 201, toolset.text);
    await withPage(async (page) => {
      await signIn(page, '/console/w/default/access-clients');
      await page.getByLabel('Client id').fill('support-bot');
      await page.getByLabel('Client name').fill('Support bot');
      await page.getByRole('group', { name: 'Allowed toolsets' }).getByLabel('clienttools').check();
      await page.getByRole('button', { name: 'Create access client' }).click();
      const secret = await page.getByTestId('issued-secret').innerText();
      assert.match(secret, /^pbac_/);
      assert.match(await page.getByRole('alert', { name: 'New secret' }).innerText(), /shown only this once/);
      await page.getByRole('button', { name: 'Copy secret' }).click();
      await page.getByRole('button', { name: 'Copied' }).waitFor();
      assert.equal(await page.evaluate(CLIPBOARD), secret);
      await checkPage(page, 'access-client-secret');
      await page.getByRole('button', { name: 'I have stored it: hide the secret' }).click();
      assert.equal(await page.getByTestId('issued-secret').count(), 0);
      assert.ok(!(await page.content()).includes(secret));
      const created = (await app.call('GET', `${WS}/access-clients/support-bot`)).body;
      assert.deepEqual(created.toolsets, ['clienttools']);

      await page.getByRole('button', { name: 'Rotate secret of support-bot' }).click();
      const rotated = await page.getByTestId('issued-secret').innerText();
      assert.notEqual(rotated, secret);
      await page.getByRole('button', { name: 'I have stored it: hide the secret' }).click();

      await page.getByRole('button', { name: 'Disable support-bot' }).click();
      await page.getByRole('button', { name: 'Enable support-bot' }).waitFor();
      assert.equal((await app.call('GET', `${WS}/access-clients/support-bot`)).body.status, 'disabled');

      await page.getByRole('button', { name: 'Allowed toolsets of support-bot' }).click();
      await page
        .getByRole('group', { name: 'Toolsets support-bot may call' })
        .getByLabel('All toolsets of the workspace')
        .check();
      await page.getByRole('button', { name: 'Save toolsets' }).click();
      // The cell itself: the row's text holds "all" before the save too ("Allowed toolsets of …").
      await page
        .locator('tr', { hasText: 'support-bot' })
        .locator('td[data-label="Allowed toolsets"]')
        .getByText('all', { exact: true })
        .waitFor();
      assert.deepEqual((await app.call('GET', `${WS}/access-clients/support-bot`)).body.toolsets, ['*']);
      await checkPage(page, 'access-clients');
    });
  });

  it('shows an audit timeline of who changed which fields, filtered by resource', async () => {
    await api('POST', `${WS}/connectors`, { id: 'audited', name: 'Audited' });
    await api('PATCH', `${WS}/connectors/audited`, { description: 'now described' });
    await withPage(async (page) => {
      await signIn(page, '/console/w/default/audit');
      await page.getByRole('heading', { name: 'Audit' }).waitFor();
      await page.getByLabel('Resource type').selectOption('connector');
      await page.getByLabel('Resource id').fill('audited');
      await page.getByLabel('Resource id').press('Enter');
      const events = page.getByRole('list', { name: 'Audit events' }).locator('li');
      await waitForExpression(page, `document.querySelectorAll('.timeline li').length === 2`);
      const texts = await events.allInnerTexts();
      assert.match(texts[0]!, /^owner changed description of connector audited/);
      assert.match(texts[1]!, /^owner created connector audited/);
      assert.doesNotMatch(texts.join('\n'), /prn_/);
      await checkPage(page, 'audit');

      // A connector's page links to its own history.
      await page.goto(`${base}/console/w/default/connectors/audited`);
      await page.getByRole('link', { name: 'History' }).click();
      await waitForExpression(page, `document.querySelectorAll('.timeline li').length === 2`);
      assert.equal(await page.getByLabel('Resource id').inputValue(), 'audited');
    });
  });

  it('deletes with a confirmation naming what goes with it, on each page and in bulk, by keyboard', async () => {
    await api('POST', `${WS}/connectors`, { id: 'doomed', name: 'Doomed' });
    for (const name of ['doomed-a', 'doomed-b'])
      await api('POST', `${WS}/connections`, {
        name,
        type: 'http',
        connectorId: 'doomed',
        content: { url: 'http://127.0.0.1:1' },
      });
    for (const name of ['spare-1', 'spare-2', 'spare-keep'])
      await api('POST', `${WS}/connections`, { name, type: 'http', content: { url: 'http://127.0.0.1:1' } });
    await api('POST', `${WS}/toolsets`, {
      name: 'failing-import',
      spec: { schema: { type: 'OpenAPI', detail: 'openapi: 9.0.0' } },
    });
    assert.equal((await settledToolset(app, 'failing-import')).status.phase, 'Failed');
    await api('POST', `${WS}/access-clients`, { id: 'old-bot', name: 'Old bot' });
    await withPage(
      async (page) => {
        await signIn(page, '/console/w/default/connectors/doomed');
        await page.getByRole('button', { name: 'Delete connector' }).click();
        const dialog = page.getByRole('dialog', { name: 'Delete connector Doomed?' });
        await dialog.waitFor();
        assert.match(
          await dialog.innerText(),
          /Its 2 connections will be deleted with it\.[\s\S]*doomed-a[\s\S]*doomed-b/,
        );
        await checkPage(page, 'connector-delete');
        await dialog.getByRole('button', { name: 'Delete connector and 2 connections' }).click();
        await page.getByRole('heading', { name: 'Connectors' }).waitFor();
        assert.equal((await app.call('GET', `${WS}/connectors/doomed`)).status, 404);
        assert.deepEqual((await app.call('GET', `${WS}/connections?connectorId=doomed`)).body.items, []);

        // Bulk, by keyboard alone: select all the matching rows, delete, confirm.
        await page.goto(`${base}/console/w/default/connections?q=spare-`);
        await page.getByRole('link', { name: 'spare-keep' }).waitFor();
        await page.getByRole('checkbox', { name: 'Select all connections on this page' }).focus();
        await page.keyboard.press('Space');
        await page.getByText('3 connections selected').waitFor();
        await page.getByRole('checkbox', { name: 'Select spare-keep' }).focus();
        await page.keyboard.press('Space');
        await page.getByText('2 connections selected').waitFor();
        await page.getByRole('button', { name: 'Delete selected (2)' }).focus();
        await page.keyboard.press('Enter');
        const bulk = page.getByRole('dialog', { name: 'Delete 2 connections?' });
        await bulk.waitFor();
        assert.match(await bulk.innerText(), /spare-1[\s\S]*spare-2/);
        // Someone changes spare-2 after the list was read: its delete is refused (If-Match), nothing is lost.
        const spare2 = (await app.call('GET', `${WS}/connections?q=spare-2`)).body.items[0];
        await api('PATCH', `${WS}/connections/${spare2.id}`, { description: 'changed meanwhile' });
        // Focus starts on Cancel; Tab reaches the delete button.
        assert.equal(await page.evaluate('document.activeElement?.textContent'), 'Cancel');
        await page.keyboard.press('Tab');
        await page.keyboard.press('Enter');
        const outcome = page.getByRole('status').filter({ hasText: 'Deleted 1 connection.' });
        await outcome.waitFor();
        assert.match(await outcome.innerText(), /could not be deleted[\s\S]*spare-2/);
        const left = (await app.call('GET', `${WS}/connections?q=spare-`)).body.items.map(
          (c: { name: string }) => c.name,
        );
        assert.deepEqual(left.sort(), ['spare-2', 'spare-keep']);
        await checkPage(page, 'connections-filtered');

        // A failed import can be removed from its page; Escape cancels first.
        await page.goto(`${base}/console/w/default/toolsets/failing-import`);
        await page.getByRole('button', { name: 'Delete toolset' }).click();
        await page.getByRole('dialog', { name: 'Delete toolset failing-import?' }).waitFor();
        await page.keyboard.press('Escape');
        await page.getByRole('dialog').waitFor({ state: 'detached' });
        assert.equal((await app.call('GET', `${WS}/toolsets/failing-import`)).status, 200);
        await page.getByRole('button', { name: 'Delete toolset' }).click();
        await page.getByRole('dialog').getByRole('button', { name: 'Delete toolset' }).click();
        await page.getByRole('heading', { name: 'Toolsets' }).waitFor();
        assert.equal((await app.call('GET', `${WS}/toolsets/failing-import`)).status, 404);

        await page.goto(`${base}/console/w/default/access-clients`);
        await page.getByRole('button', { name: 'Delete old-bot' }).click();
        const clientDialog = page.getByRole('dialog', { name: 'Delete access client old-bot?' });
        assert.match(await clientDialog.innerText(), /secrets stop working at once/);
        await clientDialog.getByRole('button', { name: 'Delete access client' }).click();
        await page.getByRole('status').filter({ hasText: 'Deleted 1 access client.' }).waitFor();
        assert.equal((await app.call('GET', `${WS}/access-clients/old-bot`)).status, 404);
      },
      { expectedStatuses: [412] },
    );
  });

  it('keeps searches and filters in the address, so that a view can be shared', async () => {
    for (const name of ['alpha-db', 'alpha-api', 'beta-db'])
      await api('POST', `${WS}/connections`, { name, type: 'http', content: { url: 'http://127.0.0.1:1' } });
    const alpha = (await app.call('GET', `${WS}/connections?q=alpha-db`)).body.items[0];
    await api('POST', `${WS}/connections/${alpha.id}/test`);
    await api('POST', `${WS}/toolsets`, {
      name: 'bad-one',
      spec: { schema: { type: 'OpenAPI', detail: 'openapi: 9.0.0' } },
    });
    await api('POST', `${WS}/toolsets`, { name: 'good-one', spec: { schema: { type: 'OpenAPI', detail: petstore } } });
    await settledToolset(app, 'bad-one');
    await settledToolset(app, 'good-one');
    await api('POST', `${WS}/access-clients`, { id: 'sleepy-bot', name: 'Sleepy', status: 'disabled' });
    await withPage(async (page) => {
      // A shared address opens the same view.
      await signIn(page, '/console/w/default/connections?q=alpha&health=failing');
      await page.getByRole('link', { name: 'alpha-db' }).waitFor();
      assert.equal(await page.locator('tbody tr').count(), 1);
      assert.equal(await page.getByLabel('Search by name').inputValue(), 'alpha');
      assert.equal(await page.getByLabel('Health').inputValue(), 'failing');
      await page.getByLabel('Health').selectOption('');
      await page.getByRole('link', { name: 'alpha-api' }).waitFor();
      assert.equal(new URL(page.url()).search, '?q=alpha');
      await page.getByLabel('Search by name').fill('no such name');
      await page.getByText('No connection matches these filters.').waitFor();
      assert.equal(new URL(page.url()).searchParams.get('q'), 'no such name');
      await page.getByRole('button', { name: 'Clear the filters' }).click();
      await page.getByRole('link', { name: 'beta-db' }).waitFor();
      assert.equal(new URL(page.url()).search, '');

      await page.goto(`${base}/console/w/default/toolsets`);
      await page.getByLabel('Phase').selectOption('Failed');
      await page.waitForURL(/phase=Failed/);
      // The address changes before the filtered page arrives, and the list keeps the rows it shows until then: wait
      // for the toolset the filter leaves out to go, not only for the one it keeps (which both lists show).
      await page.getByRole('link', { name: 'good-one' }).waitFor({ state: 'detached' });
      await page.getByRole('link', { name: 'bad-one' }).waitFor();
      await checkPage(page, 'toolsets-filtered');

      await page.goto(`${base}/console/w/default/access-clients?status=disabled`);
      await page.getByText('sleepy-bot').first().waitFor();
      assert.deepEqual(
        [...new Set(await page.locator('tbody tr .badge').allInnerTexts())],
        ['disabled'],
        'only disabled clients are listed',
      );
      await page.goto(`${base}/console/w/default/connectors?status=disabled&q=zzz`);
      await page.getByText('No connector matches these filters.').waitFor();
    });
  });

  it('shows the catalogue as an agent sees it, tries a tool through the gateway, and gives client configurations', async () => {
    const upstream = await startUpstreamApi();
    try {
      await api('POST', `${WS}/toolsets`, {
        name: 'shop',
        spec: {
          schema: { type: 'OpenAPI', detail: upstream.document() },
          authConfig: {
            type: 'APIKey',
            parameters: { apiKeyParameter: { in: 'header', key: 'X-Api-Key', value: 'k-123' } },
          },
        },
      });
      const { catalog } = (await settledToolset(app, 'shop')).status.outputs;
      // What the gateway's tools/list answer measures, as the status summarises it.
      const bytes = catalog.listBytes as number;
      assert.equal(catalog.servedMode, 'static');
      await withPage(
        async (page) => {
          await signIn(page, '/console/w/default/toolsets/shop');
          const size = page.getByTestId('catalogue-size');
          await size.waitFor();
          assert.match(
            await size.innerText(),
            new RegExp(
              `served static\\): ${catalog.tools} tools, .*${bytes} bytes.*about ${(catalog.estimatedTokens as number).toLocaleString('en')} tokens`,
            ),
          );

          // Find the tool through search, then call it with arguments from the generated form.
          await page.getByLabel('Find a tool').fill('createitem');
          await page.waitForURL(/tool=createitem/);
          assert.deepEqual(await page.locator('.tools > li summary code').allInnerTexts(), ['createItem']);
          await page.getByRole('button', { name: 'Try createItem' }).click();
          const form = page.getByRole('form', { name: 'Try createItem' });
          await form.getByLabel('name (required)').fill('lamp');
          await form.getByLabel('qty').fill('0');
          await form.getByRole('button', { name: 'Call createItem' }).click();
          // The gateway's validation, its words made plain, beside the field.
          const qty = form.locator('.field', { has: page.getByLabel('qty') });
          await qty.locator('.field-error').waitFor();
          assert.equal(await qty.locator('.field-error').innerText(), 'must be at least 1');
          assert.doesNotMatch(await form.innerText(), />=/, 'no schema words anywhere on the form');
          upstream.seen.length = 0;
          await form.getByLabel('qty').fill('2');
          await form.getByRole('button', { name: 'Call createItem' }).click();
          const answer = page.getByTestId('tool-answer');
          await answer.waitFor();
          assert.deepEqual(JSON.parse(await answer.locator('pre').innerText()), { created: { name: 'lamp', qty: 2 } });
          assert.equal(upstream.seen[0]?.headers['x-api-key'], 'k-123');
          await checkPage(page, 'toolset-try');

          const url = `${base}/mcp/default/shop`;
          const config = page.getByTestId('client-config');
          const vscode = JSON.parse(await config.innerText());
          assert.equal(vscode.servers.shop.url, url);
          assert.equal(vscode.servers.shop.type, 'http');
          await page.getByLabel('Client configuration for').selectOption({ label: 'Claude Code' });
          assert.equal(
            await config.innerText(),
            `claude mcp add --transport http shop ${url} --header "Authorization: Bearer <access-client-secret>"`,
          );
          await page.getByLabel('Client configuration for').selectOption({ label: 'Cursor' });
          assert.equal(JSON.parse(await config.innerText()).mcpServers.shop.url, url);
          await page.getByLabel('Client configuration for').selectOption({ label: 'Claude Desktop (mcp-remote)' });
          const desktop = JSON.parse(await config.innerText()).mcpServers.shop;
          assert.deepEqual(desktop.args, ['-y', 'mcp-remote', url, '--header', 'Authorization:${AUTH_HEADER}']);
          await page.getByRole('button', { name: 'Copy Claude Desktop (mcp-remote) configuration' }).click();
          assert.deepEqual(JSON.parse(await page.evaluate<string>(CLIPBOARD)).mcpServers.shop, desktop);
          // OAuth clients take the URL alone: they sign the person in and ask for consent.
          await page
            .getByLabel('Client configuration for')
            .selectOption({ label: 'OAuth clients (Claude, ChatGPT, VS Code, Cursor)' });
          assert.equal(await config.innerText(), url);

          // A curated toolset: the page shows the catalogue its filters leave, and that catalogue's size.
          await api('POST', `${WS}/toolsets`, {
            name: 'shop-items',
            spec: {
              schema: { type: 'OpenAPI', detail: upstream.document() },
              include: [{ path: '/items**' }],
              tools: { getItem: { name: 'read_item' } },
            },
          });
          const curated = (await settledToolset(app, 'shop-items')).status.outputs.catalog;
          assert.equal(curated.tools, 2);
          assert.ok(curated.listBytes < bytes, `${curated.listBytes} of ${bytes}`);
          await page.goto(`${base}/console/w/default/toolsets/shop-items`);
          await size.waitFor();
          assert.match(
            await size.innerText(),
            new RegExp(
              `served static\\): 2 tools, .*${curated.listBytes} bytes.*about ${(curated.estimatedTokens as number).toLocaleString('en')} tokens`,
            ),
          );
          await page.getByRole('heading', { name: 'Tools (2)' }).waitFor();
          assert.deepEqual(await page.locator('.tools > li summary code').allInnerTexts(), ['read_item', 'createItem']);

          // A failed toolset offers no MCP URL.
          await api('POST', `${WS}/toolsets`, {
            name: 'no-url',
            spec: { schema: { type: 'OpenAPI', detail: 'openapi: 9.0.0' } },
          });
          await settledToolset(app, 'no-url');
          await page.goto(`${base}/console/w/default/toolsets/no-url`);
          await page.getByTestId('reconcile-message').waitFor();
          assert.equal(await page.getByTestId('mcp-url').count(), 0);
          assert.equal(await page.getByTestId('client-config').count(), 0);
          await checkPage(page, 'toolset-failed');
        },
        { expectedStatuses: [400] },
      );
    } finally {
      await upstream.close();
    }
  });

  it('tells the audit in words: who by name, what, which fields an update changed, with links', async () => {
    const editor = (await api('POST', `${WS}/api-keys`, { name: 'Eddie Editor', role: 'editor' })).body.key as string;
    const as = async (method: string, url: string, body: unknown) => {
      const reply = await app.call(method, url, { body, key: editor });
      assert.ok(reply.status < 300, reply.text);
    };
    await as('POST', `${WS}/connectors`, { id: 'worded', name: 'Worded' });
    await as('PATCH', `${WS}/connectors/worded`, { description: 'described', baseUrl: 'https://api.example.com' });
    await withPage(async (page) => {
      await signIn(page, '/console/w/default/audit?resourceId=worded');
      await waitForExpression(page, `document.querySelectorAll('.timeline li').length === 2`);
      const texts = await page.getByRole('list', { name: 'Audit events' }).locator('li .sentence').allInnerTexts();
      assert.deepEqual(texts, [
        'Eddie Editor changed baseUrl and description of connector worded',
        'Eddie Editor created connector worded',
      ]);
      await page.getByRole('button', { name: 'Only events by Eddie Editor' }).first().click();
      await page.waitForURL(/principalId=prn_/);
      await checkPage(page, 'audit-words');
      await page.getByRole('link', { name: 'worded' }).first().click();
      await page.getByRole('heading', { name: 'Connector Worded' }).waitFor();
    });
  });

  it('follows the system colour scheme, remembers a chosen one, and works at 390 px with a proper not-found page', async () => {
    await api('POST', `${WS}/access-clients`, {
      id: 'a-client-with-a-rather-long-identifier-0123456789',
      name: 'A client with a long name and many toolsets',
      toolsets: ['*'],
    });
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
    try {
      const page = await context.newPage();
      await signIn(page, '/console/w/default/access-clients');
      await page.getByRole('heading', { name: 'Access clients' }).waitFor();
      const background = () => page.evaluate('getComputedStyle(document.body.parentElement).backgroundColor');
      assert.equal(await background(), 'rgb(20, 23, 29)');
      await assertNoSidewaysOverflow(page, 'access clients at 390 px');
      // The navigation, Audit included, stays inside the header and readable (axe checks its contrast).
      const audit = page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Audit' });
      const [box, header] = [await audit.boundingBox(), await page.locator('header').boundingBox()];
      assert.ok(box && header && box.y + box.height <= header.y + header.height && box.x + box.width <= 390);
      await assertAccessible(page, 'access clients at 390 px, dark');
      // The action column has a header.
      assert.equal(await page.getByRole('columnheader', { name: 'Actions' }).count(), 1);

      const toggle = page.getByRole('button', { name: 'Dark mode' });
      assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
      await toggle.click();
      assert.equal(await background(), 'rgb(246, 247, 249)');
      await page.reload();
      await page.getByRole('heading', { name: 'Access clients' }).waitFor();
      assert.equal(await background(), 'rgb(246, 247, 249)', 'the chosen light scheme is remembered');
      await page.getByRole('button', { name: 'Dark mode' }).click();
      assert.equal(await background(), 'rgb(20, 23, 29)');
      assert.equal(
        await page.evaluate(`localStorage.getItem('plugboard.theme')`),
        null,
        'back to following the system',
      );

      await page.goto(`${base}/console/w/default/no-such-section`);
      await page.getByRole('heading', { name: 'Page not found' }).waitFor();
      await page.getByRole('link', { name: 'Toolsets' }).last().waitFor();
      await page.goto(`${base}/console/w/default/connectors/no-such-connector`);
      await page.getByRole('heading', { name: 'Page not found' }).waitFor();
      assert.match(await page.locator('main').innerText(), /There is no connector "no-such-connector"/);
    } finally {
      await context.close();
    }
    await withPage(
      async (page) => {
        await signIn(page, '/console/w/default/connections/999999');
        await page.getByRole('heading', { name: 'Page not found' }).waitFor();
        await checkPage(page, 'not-found');
      },
      { expectedStatuses: [404] },
    );
  });

  it('reaches every action of a list page by keyboard, and shows empty states that say what to do next', async () => {
    await api('POST', '/api/v1/workspaces', { id: 'empty', name: 'Empty' });
    await withPage(async (page) => {
      await signIn(page, '/console/w/empty/connections');
      await page.getByText('No connections yet.').waitFor();
      assert.ok(await page.getByRole('link', { name: 'Create the first connection' }).isVisible());
      await checkPage(page, 'connections-empty');
      for (const [section, words] of [
        ['connectors', 'Create the first connector'],
        ['toolsets', 'Import an OpenAPI document'],
        ['access-clients', 'create it with the form below'],
        ['audit?resourceType=connector', 'No events match these filters.'],
      ] as const) {
        await page.goto(`${base}/console/w/empty/${section}`);
        await page.getByText(words).waitFor();
        await checkPage(page, `${section.replace(/\?.*/, '')}-empty`);
      }

      await page.goto(`${base}/console/w/default/connections`);
      await page.getByRole('link', { name: 'spare-keep' }).waitFor();
      const reached = new Set<string>();
      await page.locator('body').focus();
      for (let i = 0; i < 80; i++) {
        await page.keyboard.press('Tab');
        reached.add(
          await page.evaluate<string>(
            `(document.activeElement?.getAttribute('aria-label') || document.activeElement?.textContent || '').trim()`,
          ),
        );
      }
      for (const name of [
        'Connectors',
        'Audit',
        'Dark mode',
        'Sign out',
        'New connection',
        'Search',
        'Select all connections on this page',
        'Select spare-keep',
        'spare-keep',
      ])
        assert.ok(reached.has(name), `Tab never reached "${name}": ${[...reached].join(' | ')}`);
    });
  });

  it('gives connection variables a field each where the connector defines them', async () => {
    await api('POST', `${WS}/connectors`, {
      id: 'defines-vars',
      name: 'Defines vars',
      connectionVariables: [
        { name: 'region', value: 'eu' },
        { name: 'tier', value: '' },
      ],
    });
    const created = (
      await api('POST', `${WS}/connections`, {
        name: 'with-vars',
        type: 'http',
        connectorId: 'defines-vars',
        content: { url: 'http://127.0.0.1:1' },
      })
    ).body;
    await withPage(async (page) => {
      await signIn(page, `/console/w/default/connections/${created.id}`);
      const region = page.getByLabel('region', { exact: true });
      await region.waitFor();
      assert.equal(await region.inputValue(), 'eu');
      await page.getByLabel('tier', { exact: true }).fill('gold');
      await page.getByRole('button', { name: 'Save connection' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
      const stored = (await app.call('GET', `${WS}/connections/${created.id}`)).body.variables;
      assert.deepEqual(stored, [
        { name: 'region', value: 'eu' },
        { name: 'tier', value: 'gold' },
      ]);
      await checkPage(page, 'connection-variables');
    });
  });

  it('walks the new user through on a phone in dark mode: find and test a connection, delete a failed toolset, try a tool of a large toolset, read the audit', async () => {
    const upstream = await startUpstreamApi();
    try {
      await api('POST', `${WS}/connections`, {
        name: 'phone-db',
        type: 'http',
        content: { url: 'http://127.0.0.1:1' },
      });
      await api('POST', `${WS}/toolsets`, {
        name: 'phone-broken',
        spec: { schema: { type: 'OpenAPI', detail: 'openapi: 9.0.0' } },
      });
      // A large toolset: the shop's operations among 120 others.
      const document = JSON.parse(upstream.document()) as { paths: Record<string, unknown> };
      for (let i = 0; i < 120; i++)
        document.paths[`/reports/r${i}`] = {
          get: {
            operationId: `report${i}`,
            summary: `Report number ${i}`,
            responses: { '200': { description: 'ok' } },
          },
        };
      await api('POST', `${WS}/toolsets`, {
        name: 'phone-large',
        spec: { schema: { type: 'OpenAPI', detail: JSON.stringify(document) } },
      });
      await settledToolset(app, 'phone-broken');
      assert.equal((await settledToolset(app, 'phone-large')).status.outputs.tools.length, 126);

      const context = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
      try {
        const page = await context.newPage();
        await signIn(page, '/console/w/default/connections');
        await page.getByLabel('Search by name').fill('phone');
        await page.getByRole('link', { name: 'phone-db' }).click();
        await page.getByRole('button', { name: 'Test connection' }).click();
        await page.getByTestId('test-result').filter({ hasText: 'failing' }).waitFor();
        await assertNoSidewaysOverflow(page, 'connection page on a phone');

        await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Toolsets' }).click();
        await page.getByLabel('Phase').selectOption('Failed');
        await page.getByRole('checkbox', { name: 'Select phone-broken' }).check();
        await page.getByRole('button', { name: /^Delete selected/ }).click();
        await page.getByRole('dialog').getByRole('button', { name: 'Delete toolsets' }).click();
        await page
          .getByRole('status')
          .filter({ hasText: /Deleted \d+ toolsets?\./ })
          .waitFor();
        assert.equal((await app.call('GET', `${WS}/toolsets/phone-broken`)).status, 404);

        await page.getByLabel('Phase').selectOption('');
        await page.getByRole('link', { name: 'phone-large' }).click();
        await page.getByLabel('Find a tool').fill('reads one');
        await page.getByRole('button', { name: 'Try getItem' }).click();
        await page.getByRole('form', { name: 'Try getItem' }).getByLabel('id (required)').fill('lamp-7');
        await page.getByRole('button', { name: 'Call getItem' }).click();
        await page.getByTestId('tool-answer').waitFor();
        assert.equal(JSON.parse(await page.getByTestId('tool-answer').locator('pre').innerText()).id, 'lamp-7');
        await assertNoSidewaysOverflow(page, 'large toolset on a phone');
        await assertAccessible(page, 'large toolset on a phone, dark');

        await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Audit' }).click();
        const sentences = page.getByRole('list', { name: 'Audit events' }).locator('li .sentence');
        await sentences.first().waitFor();
        const words = await sentences.allInnerTexts();
        assert.ok(words.includes('owner deleted toolset phone-broken'), words.join('\n'));
        assert.ok(
          words.some((w) => /^owner tested connection \d+$/.test(w)),
          words.join('\n'),
        );
        await assertNoSidewaysOverflow(page, 'audit on a phone');
      } finally {
        await context.close();
      }
    } finally {
      await upstream.close();
    }
  });

  it('has run axe, the 390 px check and the screenshots on every page of the console', () => {
    const pages = [
      'sign-in',
      'connectors',
      'connectors-empty',
      'connector-field-error',
      'connector-edit',
      'connector-412',
      'connector-delete',
      'connections',
      'connections-empty',
      'connections-filtered',
      'connection-new',
      'connection-edit',
      'connection-variables',
      'toolsets',
      'toolsets-empty',
      'toolsets-filtered',
      'toolset-import',
      'toolset',
      'toolset-try',
      'toolset-failed',
      'access-clients',
      'access-clients-empty',
      'access-client-secret',
      'audit',
      'audit-empty',
      'audit-words',
      'not-found',
    ];
    assert.deepEqual(
      pages.filter((p) => !checkedPages.has(p)),
      [],
    );
  });

  it('answers console routes with the app and keeps them out of the API document', async () => {
    const deep = await fetch(`${base}/console/w/default/connections/123`);
    assert.equal(deep.status, 200);
    assert.match(deep.headers.get('content-type') ?? '', /text\/html/);
    assert.match(deep.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    const redirect = await fetch(`${base}/console`, { redirect: 'manual' });
    assert.deepEqual([redirect.status, redirect.headers.get('location')], [302, '/console/']);
    assert.equal((await fetch(`${base}/console/assets/missing.js`)).status, 404);
    const document = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    assert.deepEqual(
      Object.keys(document.paths).filter((p) => p.startsWith('/console')),
      [],
    );
  });
});

describe('web console before it is built', () => {
  it('answers 503 with a plain message saying to run npm run build', async () => {
    const server = Fastify();
    await server.register(webConsole, { dir: join(tmpdir(), 'plugboard-no-console-here') });
    for (const url of ['/console', '/console/', '/console/w/default/connectors']) {
      const reply = await server.inject({ method: 'GET', url });
      assert.equal(reply.statusCode, 503, url);
      assert.match(reply.headers['content-type'] as string, /^text\/plain/);
      assert.match(reply.body, /npm run build/);
    }
    await server.close();
  });
});
