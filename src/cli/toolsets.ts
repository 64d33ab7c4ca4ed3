import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pino from 'pino';
import type { Config } from '../config.js';
import { gatewayUrls, loadMasterKeys, openConfiguredDb } from '../app.js';
import { isDomainError } from '../domain/errors.js';
import { migrateToLatest } from '../storage/database.js';
import { findWorkspace } from '../storage/workspace-repo.js';
import { createWriter } from '../storage/writer.js';
import { systemClock } from '../services/clock.js';
import type { Actor } from '../services/actor.js';
import { createEgressPolicy } from '../egress/egress-policy.js';
import { ownListeners } from '../egress/own-listeners.js';
import { createToolsetReconciler, type ToolsetReconciler } from '../services/toolset-reconciler.js';
import { createToolsetService } from '../services/toolset-service.js';
import { createVault } from '../services/vault.js';

type Output = (line: string) => void;

/**
 * The operator at the command line: owner of the workspace it works on, recorded in the audit log as
 * principal `cli`.
 */
const operator = (workspaceId: string): Actor => ({
  principal: { id: 'cli', name: 'plugboard CLI', status: 'active', roles: new Map([[workspaceId, 'owner']]) },
  requestId: `cli-${randomUUID()}`,
});

/**
 * Creates or updates a toolset from an OpenAPI file, on the store directly. The document is converted first and
 * the toolset written only if it converts (else this throws, saying why, and nothing changes); its status is
 * then written from that conversion at once.
 */
export async function importToolset(
  config: Config,
  options: { file: string; name: string; workspace: string; description?: string },
  out: Output,
): Promise<void> {
  const detail = readFileSync(options.file, 'utf8');
  const db = openConfiguredDb(config);
  let reconciler: ToolsetReconciler | undefined;
  try {
    await migrateToLatest(db);
    if (!(await findWorkspace(db.kysely, options.workspace)))
      throw new Error(`workspace "${options.workspace}" does not exist`);
    const writer = createWriter(db);
    const clock = systemClock;
    const logger = pino({ level: 'silent' });
    // The same policy as the server's: an import converts OpenAPI only, but the reconciler reaches no upstream without one.
    const egress = createEgressPolicy({
      rules: config.egress,
      listeners: () => ownListeners({ address: config.host, port: config.port }, []),
    });
    reconciler = createToolsetReconciler({
      db,
      writer,
      clock,
      logger,
      mcpTimeoutMs: config.connectionTestTimeoutMs,
      egress,
      ...config.toolsets,
    });
    const urls = gatewayUrls(config);
    const toolsets = createToolsetService({
      db,
      writer,
      vault: createVault(loadMasterKeys(config)),
      clock,
      urls,
      onSpecChange: () => undefined,
      catalog: { ...config.toolsets.serving, maxDocumentBytes: config.toolsets.maxDocumentBytes },
    });
    const actor = operator(options.workspace);
    const spec = { schema: { type: 'OpenAPI' as const, detail } };
    const checked = await reconciler.tryConvert(spec);
    if (!checked.ok) throw new Error(`the document did not convert: ${checked.message}`);
    let toolset;
    try {
      toolset = await toolsets.patch(actor, options.workspace, options.name, {
        spec,
        ...(options.description === undefined ? {} : { description: options.description }),
      });
      out(`updated toolset "${options.name}" (generation ${toolset.generation})`);
    } catch (error) {
      if (!isDomainError(error) || error.code !== 'not-found') throw error;
      toolset = await toolsets.create(actor, options.workspace, {
        name: options.name,
        description: options.description ?? null,
        spec,
      });
      out(`created toolset "${options.name}"`);
    }
    await reconciler.reconcile(
      { workspaceId: options.workspace, name: options.name, generation: toolset.generation },
      checked.converted,
    );
    const { status } = await toolsets.get(actor, options.workspace, options.name);
    out(`${status.outputs.tools.length} tools: ${status.outputs.tools.map((t) => t.name).join(', ')}`);
    out(`MCP URL: ${status.outputs.mcpServerConfig.url}`);
  } finally {
    // Its conversion worker would keep the command running.
    await reconciler?.stop();
    await db.close();
  }
}
