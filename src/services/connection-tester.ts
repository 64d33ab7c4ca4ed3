import type { Connection } from '../domain/connection.js';
import type { Connector } from '../domain/connector.js';
import { validationFailed } from '../domain/errors.js';
import { openSecrets } from '../domain/secrets.js';
import { PROBED_TYPES, probeConnection, type ProbeResult } from '../probes/probe-connection.js';
import type { Vault } from './vault.js';

/** Tries a connection's settings against the real system. */
export interface ConnectionTester {
  test(connection: Pick<Connection, 'type' | 'content'>, connector: Pick<Connector, 'baseUrl'> | undefined): Promise<ProbeResult>;
}

export function createConnectionTester(deps: {
  vault: Vault;
  timeoutMs: number;
  onResult?: (type: string, ok: boolean) => void;
}): ConnectionTester {
  const { vault, timeoutMs, onResult } = deps;
  return {
    async test(connection, connector) {
      // Secrets are decrypted only here, at the moment of use, and only where a secret belongs (see openSecrets).
      const content = openSecrets(connection.content, connection.type, (sealed) => vault.open(sealed), '/content') as Record<string, unknown>;
      const probe = probeConnection({ type: connection.type, content, baseUrl: connector?.baseUrl }, { timeoutMs });
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
