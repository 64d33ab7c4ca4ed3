import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { notFound } from '../domain/errors.js';
import type { Actor } from './actor.js';
import { authorize } from './authorize.js';
import type { GatewayClient, GatewayService } from './gateway-service.js';

/** What a trial call answers: the tool's result exactly as the gateway would send it, and how long it took. */
export interface ToolTrial {
  readonly result: CallToolResult;
  readonly latencyMs: number;
}

/**
 * Calls one tool of a toolset for a signed-in principal (the console's "try a tool"): the gateway's own call
 * path (argument validation, upstream request, credential, timeout, redaction), with the principal's rights in
 * place of an access client's.
 */
export function createToolTrialService(deps: { gateway: Pick<GatewayService, 'toolset' | 'callTool'> }) {
  const { gateway } = deps;
  return {
    /**
     * @example await trials.call(actor, 'default', 'pets', 'listPets', { limit: 2 })
     */
    async call(
      actor: Actor,
      workspaceId: string,
      toolset: string,
      tool: string,
      args: Record<string, unknown>,
    ): Promise<ToolTrial> {
      authorize(actor, 'toolset:call', workspaceId);
      const served = await gateway.toolset(workspaceId, toolset);
      if (!served) throw notFound(`Toolset "${toolset}"`);
      // The principal in place of an access client: the whole toolset (its role allowed the call), no per-tool list.
      const caller: GatewayClient = {
        workspaceId,
        id: actor.principal.id,
        uid: `principal:${actor.principal.id}`,
        toolsets: [toolset],
        tools: [],
        rateLimit: null,
        rateKey: `principal:${actor.principal.id}`,
        // A person signed in to the console tries a per-user toolset with their own connection; an API key has none.
        ...(actor.credential?.kind === 'session' ? { personId: actor.principal.id } : {}),
      };
      const started = performance.now();
      const result = await gateway.callTool(served, caller, tool, args, actor.requestId);
      return { result, latencyMs: performance.now() - started };
    },
  };
}

export type ToolTrialService = ReturnType<typeof createToolTrialService>;
