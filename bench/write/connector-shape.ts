/**
 * The connector both servers store, and the bodies the load generator sends. Kept in one place so that the
 * bare servers and plugboard are asked to do the same work: same columns, same JSON sizes, same body.
 */

export const WORKSPACE = 'default';

/** Ids sort in creation order and are valid plugboard slugs. */
export const connectorId = (index: number) => `c-${String(index).padStart(5, '0')}`;

/**
 * Already in plugboard's canonical order, so a PUT that sends them back does not count as "setting" the
 * variables (which would also rewrite the connector's connections): both servers only update the row.
 */
const VARIABLES = [
  { name: 'org', value: 'acme' },
  { name: 'region', value: 'eu-west-1' },
];

/** A POST body: one auth-scheme config without secrets, so creating it costs no encryption in plugboard. */
export function createBody(id: string) {
  return {
    id,
    name: `Connector ${id}`,
    description: 'seeded by bench:write',
    protocolType: 'http',
    documentationUrl: `https://docs.example.com/${id}`,
    iconUrl: `https://cdn.example.com/icons/${id}.svg`,
    baseUrl: `https://api.example.com/${id}`,
    status: 'active',
    authSchemeConfigs: [{ id: 'token', schemeType: 'bearer', description: 'Personal access token', config: {} }],
    connectionVariables: VARIABLES,
  };
}

/**
 * A full-replacement PUT body. The description carries a sequence number so that every request really
 * changes the row: plugboard skips the write (and the audit row) when the new state equals the stored one.
 */
export function putBody(id: string, sequence: number): string {
  return JSON.stringify({
    name: `Connector ${id}`,
    description: `bench write #${sequence}`,
    protocolType: 'http',
    documentationUrl: `https://docs.example.com/${id}`,
    iconUrl: `https://cdn.example.com/icons/${id}.svg`,
    baseUrl: `https://api.example.com/${id}`,
    status: 'active',
    connectionVariables: VARIABLES,
  });
}
