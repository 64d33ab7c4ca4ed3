/**
 * The load of `bench:write`. Both servers answer the same paths, so one `Target` type serves plugboard and
 * the bare baselines alike.
 */
import autocannon from 'autocannon';
import type { WriteResource } from './resources.js';

export interface Target {
  readonly origin: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The ETag of each row's last 200 answer (or of its creation). */
  readonly etags: Map<string, string>;
  /**
   * Ids whose current ETag is no longer known for sure: their PUT was cut off when a run ended (the server may
   * still apply it after we stop listening) or got an answer other than 200. Uniform runs never pick them again,
   * which costs a few dozen ids out of 10,000 and needs no guess about when the server has settled.
   */
  readonly retired: Set<string>;
}

export type Scenario = 'hot' | 'uniform';

/** The hot scenario's row: the first one. Uniform runs leave it out: hot runs change it with `If-Match: *`. */
export const hotIdOf = (resource: WriteResource) => resource.idOf(0);

export interface LoadResult {
  readonly requests: number;
  readonly seconds: number;
  readonly p50: number;
  readonly p99: number;
  readonly non2xx: number;
  /** Answers per status code (412 means a failed If-Match). */
  readonly statuses: Readonly<Record<string, number>>;
  readonly errors: number;
  readonly timeouts: number;
}

let sequence = 0;

/**
 * The resource's writes (a connector's full-body PUT, an access client's PATCH) for `seconds` over `connections`
 * keep-alive connections, one request in flight on each.
 *
 * hot:     every request writes the hot id with `If-Match: *`. With 32 writers on one row a tracked ETag would be
 *          stale for all but one of them, so a 412 storm would measure the client, not the write path.
 * uniform: each request picks a random id that no other connection is writing, and sends the ETag of that
 *          id's previous answer. A correct server therefore answers no 412 at all.
 */
export async function drive(
  target: Target,
  resource: WriteResource,
  scenario: Scenario,
  seconds: number,
  connections: number,
): Promise<LoadResult> {
  const hotId = hotIdOf(resource);
  const ids = [...target.etags.keys()].filter((id) => id !== hotId && !target.retired.has(id));
  const inFlight = new Set<string>();
  const statuses: Record<string, number> = {};
  type Context = { id?: string };

  const request: autocannon.Request = {
    method: resource.method,
    setupRequest(req, context) {
      let id = hotId;
      let ifMatch = '*';
      if (scenario === 'uniform') {
        do id = ids[Math.floor(Math.random() * ids.length)]!;
        while (inFlight.has(id));
        inFlight.add(id);
        ifMatch = target.etags.get(id)!;
      }
      // autocannon hands this context to onResponse for this request, then starts a fresh one for the next.
      (context as Context).id = id;
      return {
        ...req,
        path: `${resource.collectionPath}/${id}`,
        headers: { ...target.headers, 'content-type': resource.contentType, 'if-match': ifMatch },
        body: resource.writeBody(id, ++sequence),
      };
    },
    onResponse(status, _body, context, headers) {
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (scenario !== 'uniform') return;
      const id = (context as Context).id!;
      const etag = headers?.etag ?? headers?.ETag;
      if (status === 200 && typeof etag === 'string') {
        target.etags.set(id, etag);
        inFlight.delete(id);
      }
    },
  };

  const result = await autocannon({
    url: target.origin,
    connections,
    pipelining: 1,
    duration: seconds,
    timeout: 10,
    requests: [request],
  });
  for (const id of inFlight) target.retired.add(id);
  return {
    requests: result.requests.total,
    seconds: result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    statuses,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}
