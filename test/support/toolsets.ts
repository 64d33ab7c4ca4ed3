import assert from 'node:assert/strict';
import { OWNER_KEY, type TestApp } from './stores.js';

/** Waits until the reconciler has observed the toolset's current generation, and returns the toolset. */
export async function settledToolset(
  app: TestApp,
  name: string,
  { workspaceId = 'default', key = OWNER_KEY, timeoutMs = 10_000 } = {},
): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reply = await app.call('GET', `/api/v1/workspaces/${workspaceId}/toolsets/${name}`, { key });
    assert.equal(reply.status, 200, reply.text);
    if (reply.body.status.observedGeneration === reply.body.generation) return reply.body;
    if (Date.now() > deadline) throw new Error(`toolset ${name} was not reconciled: ${reply.text}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
