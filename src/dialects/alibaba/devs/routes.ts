import type { FastifyInstance } from 'fastify';
import { etagOf } from '../../../domain/etag.js';
import { DomainError } from '../../../domain/errors.js';
import { versionOf, type Toolset } from '../../../domain/toolset.js';
import type { ToolsetService } from '../../../services/toolset-service.js';
import { documentBodyLimit } from '../../../http/body-limit.js';
import { defaultWorkspaceOf, queryOf, rawBodyOf } from '../signed-requests.js';
import { jsonObjectOf, listQueryOf, matches, toolsetBody, updatePatchOf, writableFieldsOf } from './wire.js';

interface NameParams {
  name: string;
}

const PAGE = 100;
/** Tries of an update that keeps losing the race against other writers before the conflict is reported. */
const MAX_ATTEMPTS = 5;

/** DevS toolset operations (ROA, 2023-07-14) on the toolset service, in the AccessKey's default workspace. */
export async function devsRoutes(
  app: FastifyInstance,
  options: { toolsets: ToolsetService; documentBodyLimit: number },
): Promise<void> {
  const { toolsets } = options;
  // CreateToolset and UpdateToolset carry the OpenAPI document: their bodies may reach the document limit.
  const takesDocument = documentBodyLimit(options.documentBodyLimit);

  app.post('/toolsets', takesDocument, async (request) => {
    const body = writableFieldsOf(jsonObjectOf(rawBodyOf(request)), true);
    return toolsetBody(await toolsets.create(request.actor, defaultWorkspaceOf(request), body));
  });

  app.get<{ Params: NameParams }>('/toolsets/:name', async (request) =>
    toolsetBody(await toolsets.get(request.actor, defaultWorkspaceOf(request), request.params.name)),
  );

  // DevS pages by number over a filtered list; the core pages by cursor, so the filter walks every page.
  app.get('/toolsets', async (request) => {
    const query = listQueryOf(queryOf(request));
    const workspaceId = defaultWorkspaceOf(request);
    const found: Toolset[] = [];
    let cursor: string | undefined;
    do {
      const page = await toolsets.list(request.actor, workspaceId, { limit: PAGE, cursor });
      found.push(...page.items.filter((t) => matches(t, query)));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    const start = (query.pageNumber - 1) * query.pageSize;
    return {
      data: found.slice(start, start + query.pageSize).map(toolsetBody),
      pageNumber: query.pageNumber,
      pageSize: query.pageSize,
      totalCount: found.length,
    };
  });

  // Only the fields the caller set change. Labels given replace the old ones (the SDK cannot send a null to
  // drop one); a spec given merges key by key, so a spec with only `schema` keeps its auth config. The patch
  // is written on the condition that the toolset is still the one it was built from.
  app.put<{ Params: NameParams }>('/toolsets/:name', takesDocument, async (request) => {
    const fields = writableFieldsOf(jsonObjectOf(rawBodyOf(request)), false);
    const workspaceId = defaultWorkspaceOf(request);
    for (let attempt = 1; ; attempt++) {
      const current = await toolsets.get(request.actor, workspaceId, request.params.name);
      const precondition = { ifMatch: [etagOf(versionOf(current))] };
      try {
        return toolsetBody(
          await toolsets.patch(
            request.actor,
            workspaceId,
            request.params.name,
            updatePatchOf(fields, current),
            precondition,
          ),
        );
      } catch (error) {
        if (!(error instanceof DomainError && error.code === 'precondition-failed' && attempt < MAX_ATTEMPTS))
          throw error;
      }
    }
  });

  app.delete<{ Params: NameParams }>('/toolsets/:name', async (request, reply) => {
    await toolsets.remove(request.actor, defaultWorkspaceOf(request), request.params.name);
    return reply.code(204).send();
  });
}
