import { probeHttp } from './probe-http.js';
import { probeMysql } from './probe-mysql.js';
import { probePostgresql } from './probe-postgresql.js';
import { probeRedis } from './probe-redis.js';
import { scrubSecrets } from './scrub-secrets.js';
import type { ProbeOptions, ProbeResult, ProbeTarget } from './probe.js';

type Probe = (target: ProbeTarget, options: ProbeOptions) => Promise<ProbeResult>;

// `family` is the type whose secret keys apply: an alias shares its family's.
const probes = new Map<string, { readonly family: string; readonly probe: Probe }>([
  ['mysql', { family: 'mysql', probe: probeMysql }],
  ['mariadb', { family: 'mysql', probe: probeMysql }],
  ['postgresql', { family: 'postgresql', probe: probePostgresql }],
  ['postgres', { family: 'postgresql', probe: probePostgresql }],
  ['http', { family: 'http', probe: probeHttp }],
  ['redis', { family: 'redis', probe: probeRedis }],
]);

/** Connection types that `probeConnection` can test. */
export const PROBED_TYPES: readonly string[] = Object.freeze([...probes.keys()]);

/**
 * Tests whether a connection's settings reach its system: connects, runs the cheapest round trip and
 * closes, all within `timeoutMs`. Resolves, never rejects. `undefined` when plugboard has no probe for
 * this type. An address the egress policy refuses fails the probe before anything is sent.
 *
 * @example
 * const egress = createEgressPolicy({ rules: { denyPrivate: false, allow: parseEgressAllow('').allow } });
 * const result = await probeConnection({ type: 'redis', content: { host: '127.0.0.1' } }, { timeoutMs: 2000, egress });
 * // result?.message === 'connected in 1 ms'
 */
export function probeConnection(target: ProbeTarget, options: ProbeOptions): Promise<ProbeResult> | undefined {
  const entry = probes.get(target.type);
  if (entry === undefined) return undefined;
  if (!(options.timeoutMs > 0 && Number.isFinite(options.timeoutMs))) {
    throw new RangeError(`timeoutMs must be a positive number of milliseconds, not ${options.timeoutMs}`);
  }
  return entry
    .probe(target, options)
    .catch((error: unknown): ProbeResult => ({ ok: false, message: `probe failed: ${String(error)}`, latencyMs: 0 }))
    .then((result) => ({ ...result, message: scrubSecrets(result.message, target.content, entry.family) }));
}
