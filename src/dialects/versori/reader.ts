import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Connection } from '../../domain/connection.js';
import type { Connector } from '../../domain/connector.js';
import { etagOf } from '../../domain/etag.js';
import { notFound } from '../../domain/errors.js';
import { MAX_PAGE_SIZE } from '../../domain/page.js';
import type { Actor } from '../../services/actor.js';
import type { Services } from '../../services/services.js';
import { connectorOut } from './connector-wire.js';
import { VERSORI_PROTOCOLS } from './wire.js';

/** Versori's page size when `first` is not given. */
const DEFAULT_FIRST = 20;
export const WindowQuery = {
  first: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_FIRST })),
  after: Type.Optional(Type.String({ maxLength: 512 })),
  before: Type.Optional(Type.String({ maxLength: 512 })),
};
export const windowRequestOf = (query: { first?: number; after?: string; before?: string }) => ({
  first: query.first ?? DEFAULT_FIRST,
  after: query.after,
  before: query.before,
});

/** Shared by every Versori route module: reading connectors the way Versori shows them. */
export function createReader(services: Pick<Services, 'connectors' | 'connections'>) {
  /** Every connection of a connector, in id order (Versori embeds them all in the Connector). */
  async function connectionsOf(actor: Actor, workspaceId: string, connectorId: string): Promise<Connection[]> {
    const all: Connection[] = [];
    let cursor: string | undefined;
    do {
      const page = await services.connections.list(actor, workspaceId, { limit: 1000, cursor, connectorId });
      all.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return all;
  }

  /** A connector of a protocol Versori knows; others exist only for the native API. */
  async function connectorOf(actor: Actor, workspaceId: string, connectorId: string): Promise<Connector> {
    const connector = await services.connectors.get(actor, workspaceId, connectorId);
    if (!(VERSORI_PROTOCOLS as readonly string[]).includes(connector.protocolType)) {
      throw notFound(
        `Connector "${connectorId}" (protocol ${connector.protocolType}, which the Versori API does not represent)`,
      );
    }
    return connector;
  }

  async function sendConnector(request: FastifyRequest, reply: FastifyReply, connector: Connector, status = 200) {
    const connections = await connectionsOf(request.actor, connector.workspaceId, connector.id);
    reply.header('etag', etagOf(connector));
    return reply.code(status).send(connectorOut(connector, connections));
  }

  return { connectionsOf, connectorOf, sendConnector };
}

export type Reader = ReturnType<typeof createReader>;
