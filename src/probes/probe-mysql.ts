import { once } from 'node:events';
import { connect } from 'node:net';
import { createConnection } from 'mysql2';
import { describeNetworkError, messageOf } from './describe-network-error.js';
import type { ProbeOptions, ProbeResult, ProbeTarget } from './probe.js';
import { readSettings } from './read-settings.js';
import { runProbe } from './run-probe.js';

/** Connects to MySQL or MariaDB, runs `SELECT 1` and quits. */
export async function probeMysql(target: ProbeTarget, { timeoutMs, egress }: ProbeOptions): Promise<ProbeResult> {
  const read = readSettings(target.content);
  const endpoint = read.endpoint(3306);
  const user = read.requiredText('username', 'user');
  const password = read.text('password');
  const database = read.text('database');
  const tls = read.tls();
  const rejection = read.rejection();
  if (rejection !== undefined) return rejection;

  return runProbe({
    timeoutMs,
    egress,
    endpoint,
    address: endpoint.address,
    open: (to) => {
      // mysql2's own destroy() only half-closes, which leaves the socket open against a server that never
      // answers; owning the socket lets the probe really drop it.
      const socket = connect({ host: to.address, port: endpoint.port });
      const connection = createConnection({
        stream: socket,
        // Only for TLS: mysql2 takes the server name and the certificate's expected name from it.
        host: endpoint.host,
        user,
        password,
        database,
        ssl: tls ? {} : undefined,
      });
      // Every failure also reaches the pending query; this listener only keeps a late one from crashing.
      connection.on('error', () => undefined);
      const promised = connection.promise();
      return {
        check: async () => {
          await promised.query('SELECT 1');
          return { ok: true };
        },
        close: async () => {
          // end() resolves as soon as QUIT is queued; waiting for the server to hang up keeps destroy()
          // from cutting the goodbye short.
          const closed = once(socket, 'close');
          await promised.end();
          await closed;
        },
        destroy: () => socket.destroy(),
      };
    },
    describe: (error) => {
      // Server error numbers: https://mariadb.com/kb/en/mariadb-error-code-reference/
      switch ((error as { errno?: unknown }).errno) {
        case 1045:
        case 1698:
          return `authentication failed for user ${user}`;
        case 1049:
          return `database "${database}" does not exist`;
        case 1044:
          return `user ${user} may not use database "${database}"`;
        case 1130:
          return `the server at ${endpoint.address} does not let this host connect`;
      }
      if ((error as { code?: unknown }).code === 'HANDSHAKE_NO_SSL_SUPPORT') {
        return `the server at ${endpoint.address} does not offer TLS, but the settings ask for it`;
      }
      return (
        describeNetworkError(error, endpoint) ?? `the MySQL server at ${endpoint.address} refused: ${messageOf(error)}`
      );
    },
  });
}
