import { checkPrecondition, type Precondition } from '../domain/etag.js';
import { conflict, notFound, preconditionFailed } from '../domain/errors.js';
import { newId, newUid } from '../domain/ids.js';
import { applyMergePatch } from '../domain/merge-patch.js';
import { decodeCursor, encodeCursor, type Page, type PageRequest } from '../domain/page.js';
import { compileCheck } from '../domain/validate.js';
import { WorkspaceCreateInput, WorkspaceInput, type Workspace } from '../domain/workspace.js';
import type { Db } from '../storage/database.js';
import { deleteConnectionsOfWorkspace } from '../storage/connection-repo.js';
import { upsertMembership } from '../storage/principal-repo.js';
import * as workspaces from '../storage/workspace-repo.js';
import type { Writer } from '../storage/writer.js';
import type { Tx } from '../storage/engine.js';
import { changeEvent, recordChange } from './audit-service.js';
import { StaleWrite } from '../storage/write-conflicts.js';
import { authorize } from './authorize.js';
import { withRetry, writeWithRetry } from './write-retry.js';
import type { Actor } from './actor.js';
import type { Clock } from './clock.js';

const checkCreate = compileCheck(WorkspaceCreateInput);
const checkInput = compileCheck(WorkspaceInput);

/** Creates a workspace row with the next project id; shared by the API and first-start bootstrap. */
export async function insertNewWorkspace(
  tx: Tx,
  input: { id?: string; name: string },
  now: string,
): Promise<Workspace> {
  const workspace: Workspace = {
    id: input.id ?? newId('ws'),
    uid: newUid('workspace'),
    name: input.name,
    projectId: await workspaces.nextCounter(tx, 'project_id'),
    createdAt: now,
    updatedAt: now,
    revision: 1,
  };
  await workspaces.insertWorkspace(tx, workspace);
  return workspace;
}

export function createWorkspaceService(deps: { db: Db; writer: Writer; clock: Clock }) {
  const { db, writer, clock } = deps;

  const rows = workspaces.workspaceRows(db.engine);

  /**
   * The one write path of a workspace's own fields (PUT, PATCH): a row change of the writer, so that concurrent
   * ones commit together on PostgreSQL. `toInput` is a pure function of the current workspace and may run more
   * than once; a change that leaves the name as it is stores nothing and records nothing.
   */
  function mutate(
    actor: Actor,
    id: string,
    precondition: Precondition | undefined,
    toInput: (current: Workspace) => unknown,
  ): Promise<Workspace> {
    authorize(actor, 'workspace:update', id);
    return withRetry(() =>
      writer.change(rows, {
        key: id,
        apply: (current) => {
          if (!current) throw notFound(`Workspace "${id}"`);
          if (!checkPrecondition(current, precondition)) throw preconditionFailed();
          const input = checkInput(toInput(current));
          if (input.name === current.name) return { result: current };
          const now = clock.now();
          const next = { ...current, name: input.name, updatedAt: now, revision: current.revision + 1 };
          const audit = changeEvent(
            actor,
            {
              workspaceId: id,
              action: 'workspace:update',
              resourceType: 'workspace',
              resourceId: id,
              before: current,
              after: next,
            },
            now,
          );
          return { next, audit, result: next };
        },
      }),
    );
  }

  return {
    /** Workspaces the caller belongs to, by id. */
    async list(actor: Actor, request: PageRequest): Promise<Page<Workspace>> {
      const after = request.cursor === undefined ? undefined : decodeCursor(request.cursor, 'string');
      const rows = await workspaces.listWorkspacesOf(db.kysely, actor.principal.id, after, request.limit + 1);
      const items = rows.slice(0, request.limit);
      return { items, nextCursor: rows.length > request.limit ? encodeCursor(items[items.length - 1]!.id) : null };
    },

    /**
     * The id of the workspace with this project id, for edges that name workspaces by number (DataWorks'
     * ProjectId). It tells any active caller whether the number is taken, never what the workspace holds.
     */
    async idOfProject(actor: Actor, projectId: number): Promise<string | undefined> {
      if (actor.principal.status !== 'active' || !Number.isSafeInteger(projectId)) return undefined;
      return workspaces.findWorkspaceIdByProjectId(db.kysely, projectId);
    },

    async get(actor: Actor, id: string): Promise<Workspace> {
      authorize(actor, 'workspace:read', id);
      const workspace = await workspaces.findWorkspace(db.kysely, id);
      if (!workspace) throw notFound(`Workspace "${id}"`);
      return workspace;
    },

    /** Any active principal may create a workspace; it becomes the workspace's owner. */
    async create(actor: Actor, body: unknown): Promise<Workspace> {
      const input = checkCreate(body);
      if (actor.principal.status !== 'active') throw notFound('Principal');
      return writeWithRetry(
        writer,
        async (tx) => {
          const now = clock.now();
          const workspace = await insertNewWorkspace(tx, input, now);
          await upsertMembership(tx, workspace.id, actor.principal.id, 'owner', now);
          const change = {
            workspaceId: workspace.id,
            action: 'workspace:create',
            resourceType: 'workspace',
            resourceId: workspace.id,
            after: workspace,
          };
          await recordChange(tx, actor, change, now);
          return workspace;
        },
        () => conflict(`A workspace with id "${input.id}" already exists.`),
      );
    },

    replace: (actor: Actor, id: string, body: unknown, precondition?: Precondition) =>
      mutate(actor, id, precondition, () => body),

    patch: (actor: Actor, id: string, patch: unknown, precondition?: Precondition) =>
      mutate(actor, id, precondition, (current) => applyMergePatch({ name: current.name }, patch)),

    /** Deletes a workspace; one that still holds connectors or connections needs force=true. */
    async remove(actor: Actor, id: string, options: { force: boolean }, precondition?: Precondition): Promise<void> {
      authorize(actor, 'workspace:delete', id);
      await writeWithRetry(writer, async (tx) => {
        const current = await workspaces.findWorkspace(tx, id, { forUpdate: db.engine === 'postgres' });
        if (!current) throw notFound(`Workspace "${id}"`);
        if (!checkPrecondition(current, precondition)) throw preconditionFailed();
        const contents = await workspaces.countWorkspaceContents(tx, id);
        if (contents > 0 && !options.force) {
          throw conflict(
            `Workspace "${id}" still holds ${contents} connector(s), connection(s), toolset(s), access client(s) and webhook(s); pass force=true to delete them with it.`,
          );
        }
        // Recorded first: the event belongs to the workspace's uid, which it reads from the row about to go.
        await recordChange(
          tx,
          actor,
          { workspaceId: id, action: 'workspace:delete', resourceType: 'workspace', resourceId: id, before: current },
          clock.now(),
        );
        await deleteConnectionsOfWorkspace(tx, id);
        if (!(await workspaces.deleteWorkspace(tx, id, current.revision))) throw new StaleWrite();
      });
    },
  };
}

export type WorkspaceService = ReturnType<typeof createWorkspaceService>;
