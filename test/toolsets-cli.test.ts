import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { oversizedToolDocument } from './support/bomb-documents.js';
import { runCli } from './support/cli-process.js';
import { ENGINES, startTestApp, type TestApp } from './support/stores.js';

const PETSTORE = 'src/openapi/fixtures/petstore-3.0.yaml';
const LIBRARY = 'src/openapi/fixtures/library-3.1.json';

for (const engine of ENGINES) {
  describe(`plugboard toolsets import [${engine}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(engine, {
        env: { PUBLIC_URL: 'https://pb.example.com', RECONCILE_INTERVAL_MS: '3600000' },
      });
    });
    after(async () => {
      await app?.stop();
    });

    const env = () => ({ ...app.store.env, PUBLIC_URL: 'https://pb.example.com' });

    it('creates a toolset from a file, converts it at once and prints its tools and MCP URL', async () => {
      const run = await runCli(['toolsets', 'import', PETSTORE, '--name', 'pets'], env());
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /created toolset "pets"/);
      assert.match(run.stdout, /tools: .*listPets/);
      assert.match(run.stdout, /MCP URL: https:\/\/pb\.example\.com\/mcp\/default\/pets/);
      const toolset = await app.call('GET', '/api/v1/workspaces/default/toolsets/pets');
      assert.equal(toolset.body.status.phase, 'Installed');
      const history = await app.call('GET', '/api/v1/workspaces/default/toolsets/pets/history');
      assert.equal(history.body.items.at(-1).principalId, 'cli');
    });

    it('updates it from another file, bumping the generation', async () => {
      const run = await runCli(['toolsets', 'import', LIBRARY, '-n', 'pets', '-d', 'a library now'], env());
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /updated toolset "pets" \(generation 2\)/);
      const toolset = await app.call('GET', '/api/v1/workspaces/default/toolsets/pets');
      assert.equal(toolset.body.description, 'a library now');
      assert.equal(toolset.body.status.observedGeneration, 2);
    });

    it('exits non-zero saying why when the document does not convert (a limit named), creating nothing, or the workspace is missing', async () => {
      const bad = join(app.store.env.DATA_DIR!, 'bad.yaml');
      writeFileSync(bad, 'openapi: 9.0.0\ninfo: {title: t, version: "1"}\npaths: {}\n');
      const failed = await runCli(['toolsets', 'import', bad, '-n', 'broken'], env());
      assert.equal(failed.code, 1);
      assert.match(failed.stderr, /^plugboard: the document did not convert: .*#\/openapi/);
      assert.doesNotMatch(failed.stdout, /created/);
      assert.equal(
        (await app.call('GET', '/api/v1/workspaces/default/toolsets/broken')).status,
        404,
        'a toolset was left behind',
      );
      const bomb = join(app.store.env.DATA_DIR!, 'bomb.yaml');
      writeFileSync(bomb, oversizedToolDocument());
      const overLimit = await runCli(['toolsets', 'import', bomb, '-n', 'bomb'], env());
      assert.equal(overLimit.code, 1, overLimit.stderr);
      assert.match(
        overLimit.stderr,
        /did not convert: .*over the limit of 131,072 bytes per tool \(TOOLSET_MAX_TOOL_SCHEMA_BYTES; at #\/paths\/~1r0\/post/,
      );
      assert.equal(
        (await app.call('GET', '/api/v1/workspaces/default/toolsets/bomb')).status,
        404,
        'a toolset was left behind',
      );
      const missing = await runCli(['toolsets', 'import', PETSTORE, '-n', 'x', '-w', 'nope'], env());
      assert.notEqual(missing.code, 0);
      assert.match(missing.stderr, /workspace "nope" does not exist/);
    });

    it('leaves an existing toolset untouched when the new document does not convert', async () => {
      const before = await app.call('GET', '/api/v1/workspaces/default/toolsets/pets');
      const history = (await app.call('GET', '/api/v1/workspaces/default/toolsets/pets/history')).body.items.length;
      const bad = join(app.store.env.DATA_DIR!, 'bad-update.yaml');
      writeFileSync(bad, 'openapi: 9.0.0\ninfo: {title: t, version: "1"}\npaths: {}\n');
      const failed = await runCli(['toolsets', 'import', bad, '-n', 'pets', '-d', 'never'], env());
      assert.equal(failed.code, 1, failed.stderr);
      assert.match(failed.stderr, /^plugboard: the document did not convert: .*#\/openapi/);
      assert.doesNotMatch(failed.stdout, /updated/);
      const after = await app.call('GET', '/api/v1/workspaces/default/toolsets/pets');
      assert.deepEqual(after.body, before.body);
      assert.equal(after.headers.etag, before.headers.etag);
      assert.equal(
        (await app.call('GET', '/api/v1/workspaces/default/toolsets/pets/history')).body.items.length,
        history,
      );
    });
  });
}
