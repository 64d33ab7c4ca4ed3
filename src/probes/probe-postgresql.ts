import pg from 'pg';
import { describeNetworkError, messageOf } from './describe-network-error.js';
import { serverNameOf } from '../egress/egress-connect.js';
import type { ProbeOptions, ProbeResult, ProbeTarget } from './probe.js';
import { readSettings } from './read-settings.js';
import { runProbe } from './run-probe.js';

/** Connects to PostgreSQL, runs `SELECT 1` and ends the session. */
export async function probePostgresql(target: ProbeTarget, { timeoutMs, egress }: ProbeOptions): Promise<ProbeResult> {
  const read = readSettings(target.content);
  const endpoint = read.endpoint(5432);
  const user = read.requiredText('username', 'user');
  const password = read.text('password') ?? '';
  // PostgreSQL's own default: a database named after the user.
  const database = read.text('database') ?? user;
  const tls = read.tls();
  const rejection = read.rejection();
  if (rejection !== undefined) return rejection;

  return runProbe({
    timeoutMs,
    egress,
    endpoint,
    address: endpoint.address,
    open: (to) => {
      const client = new pg.Client({
        host: to.address,
        port: endpoint.port,
        user,
        database,
        // Given as a function because pg falls back to PGPASSWORD and ~/.pgpass for a missing or empty
        // string: the probe must test the settings, not whatever the plugboard host has lying around.
        password: () => password,
        // TLS checks the certificate against the host name of the settings, not the address connected to.
        ssl: tls ? { servername: serverNameOf(endpoint.host) } : false,
        application_name: 'plugboard probe',
      });
      // Failures reach connect() and query(); this listener only keeps a late one from crashing.
      client.on('error', () => undefined);
      return {
        check: async () => {
          await client.connect();
          await client.query('SELECT 1');
          return { ok: true };
        },
        close: () => client.end(),
        destroy: () => client.connection.stream.destroy(),
      };
    },
    describe: (error) => {
      // SQLSTATE codes: https://www.postgresql.org/docs/current/errcodes-appendix.html
      switch ((error as { code?: unknown }).code) {
        case '28P01':
          return `authentication failed for user ${user}`;
        case '28000':
          return `authentication failed for user ${user}: ${messageOf(error)}`;
        case '3D000':
          return `database "${database}" does not exist`;
        case '42501':
          return `user ${user} may not connect to database "${database}"`;
        case '53300':
          return `the server at ${endpoint.address} has too many connections`;
        case '57P03':
          return `the server at ${endpoint.address} is starting up or shutting down`;
      }
      if (messageOf(error) === 'The server does not support SSL connections') {
        return `the server at ${endpoint.address} does not offer TLS, but the settings ask for it`;
      }
      return (
        describeNetworkError(error, endpoint) ??
        `the PostgreSQL server at ${endpoint.address} refused: ${messageOf(error)}`
      );
    },
  });
}
