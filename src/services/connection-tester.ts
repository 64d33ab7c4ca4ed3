import type { Connection } from '../domain/connection.js';
import type { Connector } from '../domain/connector.js';
import { validationFailed } from '../domain/errors.js';
import type { EgressPolicy } from '../egress/egress-policy.js';
import { isSealed } from '../domain/secrets.js';
import { PROBED_TYPES, probeConnection, type ProbeResult } from '../probes/probe-connection.js';
import type { Vault } from './vault.js';

/** Tries a connection's settings against the real system. */
export interface ConnectionTester {
  test(connection: Pick<Connection, 'type' | 'content'>, connector: Pick<Connector, 'baseUrl'> | undefined): Promise<ProbeResult>;
}

/** Opens every sealed value of a settings object: secrets are decrypted only here, at the moment of use. */
function openSettings(vault: Vault, value: unknown): unknown {
  if (isSealed(value)) return vault.open(value);
  if (Array.isArray(value)) return value.map((item) => openSettings(vault, item));
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, openSettings(vault, child)]));
}

export function createConnectionTester(deps: {
  vault: Vault;
  timeoutMs: number;
  egress: EgressPolicy;
  onResult?: (type: string, ok: boolean) => void;
}): ConnectionTester {
  const { vault, timeoutMs, egress, onResult } = deps;
  return {
    async test(connection, connector) {
      const content = openSettings(vault, connection.content) as Record<string, unknown>;
      const probe = probeConnection({ type: connection.type, content, baseUrl: connector?.baseUrl }, { timeoutMs, egress });
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
