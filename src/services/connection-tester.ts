import type { Connection } from '../domain/connection.js';
import type { Connector } from '../domain/connector.js';
import { validationFailed } from '../domain/errors.js';
import { openSecrets } from '../domain/secrets.js';
import type { EgressPolicy } from '../egress/egress-policy.js';
import { PROBED_TYPES, probeConnection } from '../probes/probe-connection.js';
import type { ProbeResult } from '../probes/probe.js';
import { MisplacedSealedValue, type SealPlace, type Vault } from './vault.js';

/** Tries a connection's settings against the real system. */
export interface ConnectionTester {
  /** `workspaceUid`: the uid of the connection's workspace, part of the place its sealed values are bound to. */
  test(
    connection: Pick<Connection, 'uid' | 'type' | 'content'>,
    connector: Pick<Connector, 'baseUrl'> | undefined,
    workspaceUid: string,
  ): Promise<ProbeResult>;
}

/**
 * Opens the secrets of a settings object at their places: secrets are decrypted only here, at the moment of use,
 * and only where a secret belongs (see openSecrets). A value sealed for another place (copied from elsewhere) is
 * refused by its path, never opened.
 */
function openSettings(vault: Vault, content: unknown, type: string, owner: Omit<SealPlace, 'path'>): unknown {
  const misplaced: string[] = [];
  const opened = openSecrets(
    content,
    type,
    (sealed, path) => {
      try {
        return vault.open(sealed, { ...owner, path });
      } catch (error) {
        if (!(error instanceof MisplacedSealedValue)) throw error;
        misplaced.push(path);
        return '';
      }
    },
    '/content',
  );
  if (misplaced.length > 0) {
    throw validationFailed(
      misplaced.map((path) => ({
        path,
        message: 'holds a sealed value that was not sealed for this connection and field; enter the secret again',
      })),
    );
  }
  return opened;
}

export function createConnectionTester(deps: {
  vault: Vault;
  timeoutMs: number;
  egress: EgressPolicy;
  onResult?: (type: string, ok: boolean) => void;
}): ConnectionTester {
  const { vault, timeoutMs, egress, onResult } = deps;
  return {
    async test(connection, connector, workspaceUid) {
      const content = openSettings(vault, connection.content, connection.type, {
        workspaceUid,
        resourceUid: connection.uid,
      }) as Record<string, unknown>;
      const probe = probeConnection(
        { type: connection.type, content, baseUrl: connector?.baseUrl },
        { timeoutMs, egress },
      );
      if (!probe) {
        throw validationFailed(
          [{ path: '/type', message: `has no connection test; plugboard tests ${PROBED_TYPES.join(', ')}` }],
          `plugboard cannot test connections of type "${connection.type}"; it tests ${PROBED_TYPES.join(', ')}.`,
        );
      }
      const result = await probe;
      onResult?.(connection.type, result.ok);
      return result;
    },
  };
}
