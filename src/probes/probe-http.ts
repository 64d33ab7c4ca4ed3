import { request as httpRequest, type ClientRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { pinnedLookup } from '../egress/egress-connect.js';
import { describeNetworkError, messageOf } from './describe-network-error.js';
import type { ProbeOptions, ProbeResult, ProbeTarget } from './probe.js';
import { runProbe, type Verdict } from './run-probe.js';

/**
 * Sends HEAD to `content.url` (resolved against the connector's `baseUrl` when relative), or else to
 * `baseUrl`, and judges the status. The probe sends no credentials, and it does not follow redirects, so
 * it never talks to a host the settings do not name.
 */
export async function probeHttp(target: ProbeTarget, { timeoutMs, egress }: ProbeOptions): Promise<ProbeResult> {
  const parsed = parseTarget(target);
  if (!parsed.ok) return { ok: false, message: `invalid settings: ${parsed.problem}`, latencyMs: 0 };
  const { url, shown } = parsed;
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  const endpoint = { host: url.hostname, port, address: `${url.hostname}:${port}` };

  return runProbe({
    timeoutMs,
    egress,
    endpoint,
    address: shown,
    open: (to) => {
      let current: ClientRequest | undefined;
      // node:http rather than fetch: an aborted fetch leaves its socket in undici's pool for seconds, and the
      // probe must hang up at once. `agent: false` gives each request its own socket, closed after use.
      const send = (method: 'HEAD' | 'GET') =>
        new Promise<number>((resolve, reject) => {
          const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
            url,
            { method, agent: false, lookup: pinnedLookup(to), headers: { 'user-agent': 'plugboard-probe' } },
            (response) => {
              // Only the status matters: dropping the request skips the body and closes the socket.
              request.destroy();
              resolve(response.statusCode ?? 0);
            },
          );
          current = request;
          request.on('error', reject);
          request.end();
        });
      return {
        check: async () => {
          const status = await send('HEAD');
          // RFC 9110 lets a server refuse HEAD (405) or not implement it (501); GET answers the same question.
          if (status !== 405 && status !== 501) return judgeStatus(status, shown, 'HEAD');
          return judgeStatus(await send('GET'), shown, 'GET');
        },
        close: async () => undefined,
        destroy: () => current?.destroy(),
      };
    },
    describe: (error) => describeNetworkError(error, endpoint) ?? `request to ${shown} failed: ${messageOf(error)}`,
  });
}

/**
 * Which answers count as reachable: any 2xx; a 3xx (not followed); 401 and 403, since the probe sends no
 * credentials and most APIs refuse an anonymous request, so they prove the server answers; 405 to GET
 * after 405 to HEAD, an endpoint that only takes other methods; 429, a server that answers but wants the
 * client to slow down. Any other 4xx (a wrong URL, most often 404) and every 5xx fail the probe.
 */
function judgeStatus(status: number, shown: string, method: 'HEAD' | 'GET'): Verdict {
  const answer = `HTTP ${status} from ${shown}${method === 'GET' ? ' (GET, as HEAD is not allowed)' : ''}`;
  if (status >= 200 && status < 300) return { ok: true, note: answer };
  if (status >= 300 && status < 400) return { ok: true, note: `${answer}, a redirect the probe does not follow` };
  if (status === 401 || status === 403)
    return { ok: true, note: `reachable but refused: ${answer}; the probe sends no credentials` };
  if (status === 405) return { ok: true, note: `reachable, but ${answer}: the endpoint takes neither HEAD nor GET` };
  if (status === 429) return { ok: true, note: `reachable but rate-limited: ${answer}` };
  return { ok: false, message: answer };
}

type ParsedTarget =
  { readonly ok: true; readonly url: URL; readonly shown: string } | { readonly ok: false; readonly problem: string };

function parseTarget(target: ProbeTarget): ParsedTarget {
  const given = target.content.url;
  const base = target.baseUrl ?? undefined;
  if (given !== undefined && given !== null && typeof given !== 'string')
    return { ok: false, problem: 'url must be text' };
  const field = typeof given === 'string' && given.trim() !== '' ? 'url' : 'baseUrl';
  const text = field === 'url' ? (given as string) : base;
  if (text === undefined || text.trim() === '')
    return { ok: false, problem: 'url is missing, and the connector has no baseUrl' };
  let url: URL;
  try {
    url = new URL(text, field === 'url' ? base : undefined);
  } catch {
    return { ok: false, problem: `${field} is not a valid URL` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return { ok: false, problem: `${field} must be an http:// or https:// URL` };
  // node:http would turn a user name and password in the URL into Basic auth; the probe sends no credentials.
  url.username = '';
  url.password = '';
  // Messages leave out the query and fragment: they often carry tokens.
  return { ok: true, url, shown: `${url.origin}${url.pathname}` };
}
