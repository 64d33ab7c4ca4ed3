/**
 * The upstream API of `bench:gateway`, run as its own child process: `POST /echo` answers with the JSON body
 * it received (about 30 bytes), on keep-alive connections; `GET /healthz` says it is up. PORT from the environment.
 */
import { createServer } from 'node:http';

const server = createServer((request, response) => {
  if (request.method === 'POST' && request.url === '/echo') {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      try {
        JSON.parse(body.toString('utf8'));
      } catch {
        response.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"the body is not JSON"}');
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }).end(body);
    });
    return;
  }
  if (request.method === 'GET' && request.url === '/healthz') {
    response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    return;
  }
  request.resume();
  response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"no such route"}');
});
// Longer than any pause between two rows, so that the gateways' keep-alive agents never meet a closed socket.
server.keepAliveTimeout = 120_000;
server.headersTimeout = 121_000;
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
