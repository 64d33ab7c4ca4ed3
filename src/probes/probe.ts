import type { EgressPolicy } from '../egress/egress-policy.js';

/** What one probe found; `message` is plain words and never holds a secret from the settings. */
export interface ProbeResult {
  readonly ok: boolean;
  readonly message: string;
  readonly latencyMs: number;
}

/** A connection as a probe sees it: `content` holds plaintext secrets, `baseUrl` comes from the connector. */
export interface ProbeTarget {
  readonly type: string;
  readonly content: Readonly<Record<string, unknown>>;
  readonly baseUrl?: string | null;
}

/** How a probe runs: within `timeoutMs`, and only to addresses the egress policy allows. */
export interface ProbeOptions {
  readonly timeoutMs: number;
  readonly egress: EgressPolicy;
}
