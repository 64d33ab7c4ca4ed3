// The upstream API of the README walkthrough: the operations of examples/notes.openapi.yaml, in memory, on
// plain node (no dependencies). `node examples/upstream.mjs` listens on 127.0.0.1:4010; UPSTREAM_PORT
// and UPSTREAM_HOST change that.
import { createServer } from 'node:http';

const port = Number(process.env.UPSTREAM_PORT ?? 4010);
const host = process.env.UPSTREAM_HOST ?? '127.0.0.1';

const notes = new Map();
let lastId = 0;
const add = (text) => {
  const note = { id: `n${++lastId}`, text, createdAt: new Date().toISOString() };
  notes.set(note.id, note);
  return note;
};
add('Welcome to plugboard');
add('Water the plants');
add('Ship the release notes');

function send(res, status, body) {
  res.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json' });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}

async function readJson(req) {
  let text = '';
  for await (const chunk of req) text += chunk;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function handle(req, res) {
  const url = new URL(req.url, 'http://upstream');
  const one = /^\/notes\/([^/]+)$/.exec(url.pathname);
  if (url.pathname === '/notes' && req.method === 'GET') {
    const limit = Number(url.searchParams.get('limit') ?? 100);
    return send(res, 200, [...notes.values()].slice(0, limit));
  }
  if (url.pathname === '/notes' && req.method === 'POST') {
    const body = await readJson(req);
    if (typeof body?.text !== 'string' || body.text === '') return send(res, 400, { message: 'text is required' });
    return send(res, 201, add(body.text));
  }
  if (one && (req.method === 'GET' || req.method === 'DELETE')) {
    const note = notes.get(decodeURIComponent(one[1]));
    if (!note) return send(res, 404, { message: 'no such note' });
    if (req.method === 'GET') return send(res, 200, note);
    notes.delete(note.id);
    return send(res, 204);
  }
  return send(res, 404, { message: 'no such route' });
}

createServer((req, res) => {
  handle(req, res).catch(() => send(res, 500, { message: 'internal error' }));
}).listen(port, host, () => console.log(`notes upstream listening on http://${host}:${port}`));
