import type { AuthSchemeConfig, Connector } from './connector.js';
import type { Connection } from './connection.js';
import { MASK, maskSecrets } from './secrets.js';

/** What callers see of stored resources: every secret replaced by the mask. */
export function viewAuthSchemeConfig(config: AuthSchemeConfig): AuthSchemeConfig {
  return { ...config, config: maskSecrets(config.config) as Record<string, unknown> };
}

export function viewConnector(connector: Connector): Connector {
  return { ...connector, authSchemeConfigs: connector.authSchemeConfigs.map(viewAuthSchemeConfig) };
}

export function viewConnection(connection: Connection): Connection {
  return {
    ...connection,
    content: maskSecrets(connection.content, connection.type) as Record<string, unknown>,
    credentials: connection.credentials.map((c) => ({ ...c, secret: c.secret === null ? null : MASK })),
  };
}
