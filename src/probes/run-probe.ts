import { isUnreachable } from '../egress/egress-connect.js';
import { EgressRefused, type EgressPolicy, type ResolvedAddress } from '../egress/egress-policy.js';
import type { ProbeResult } from './probe.js';

/** What a probe's round trip concluded: reachable (with a note for the message) or not. */
export type Verdict = { readonly ok: true; readonly note?: string } | { readonly ok: false; readonly message: string };

/** One attempt against a system, opened by `runProbe` inside its deadline. */
export interface ProbeSession {
  /** Connects and makes the cheapest round trip; rejects with the driver's error. */
  readonly check: () => Promise<Verdict>;
  /** Says goodbye properly; called only after `check` resolved, and cut short by the deadline. */
  readonly close: () => Promise<unknown>;
  /** Drops the socket at once. Always called last, also after `close`, so it must tolerate that. */
  readonly destroy: () => void;
}

/**
 * Runs one session against a single deadline that covers the lookup, connecting and the round trip, and
 * always destroys the socket, whether the check passed, failed or ran out of time. The host is resolved
 * once, by the egress policy, and the session connects to the addresses it checked, the next one only when
 * the one before was unreachable (as net's happy eyeballs would for `localhost` answering ::1 first).
 */
export async function runProbe(plan: {
  readonly timeoutMs: number;
  readonly egress: EgressPolicy;
  /** Where the session connects: `host` is resolved and checked here, and `open` gets the checked address. */
  readonly endpoint: { readonly host: string; readonly port: number };
  /** Names the system in the timeout message. */
  readonly address: string;
  /** Opens a session to `to`; the host name stays the driver's for TLS (SNI, certificate) and HTTP's Host. */
  readonly open: (to: ResolvedAddress) => ProbeSession;
  /** Turns a rejection of `check` into plain words. */
  readonly describe: (error: unknown) => string;
}): Promise<ProbeResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timed out'>((resolve) => {
    timer = setTimeout(() => resolve('timed out'), plan.timeoutMs);
  });
  let session: ProbeSession | undefined;
  try {
    const resolving = plan.egress.resolve(plan.endpoint.host, plan.endpoint.port);
    resolving.catch(() => undefined);
    const resolved = await Promise.race([resolving, deadline]);
    if (resolved === 'timed out') {
      return {
        ok: false,
        message: `timed out after ${plan.timeoutMs} ms waiting for ${plan.address}`,
        latencyMs: elapsed(),
      };
    }
    let verdict: Verdict | 'timed out' = 'timed out';
    for (const [index, to] of resolved.entries()) {
      session?.destroy();
      const opened = plan.open(to);
      session = opened;
      const checking = opened.check();
      // When the deadline wins, destroying the socket makes the check reject later with nobody listening.
      checking.catch(() => undefined);
      try {
        verdict = await Promise.race([checking, deadline]);
        break;
      } catch (error) {
        if (index === resolved.length - 1 || !isUnreachable(error)) throw error;
      }
    }
    const latencyMs = elapsed();
    if (verdict === 'timed out') {
      return { ok: false, message: `timed out after ${plan.timeoutMs} ms waiting for ${plan.address}`, latencyMs };
    }
    await Promise.race([session!.close().catch(() => undefined), deadline]);
    if (!verdict.ok) return { ok: false, message: verdict.message, latencyMs };
    const note = verdict.note === undefined ? '' : `; ${verdict.note}`;
    return { ok: true, message: `connected in ${latencyMs} ms${note}`, latencyMs };
  } catch (error) {
    if (error instanceof EgressRefused) return { ok: false, message: error.message, latencyMs: 0 };
    return { ok: false, message: plan.describe(error), latencyMs: elapsed() };
  } finally {
    clearTimeout(timer);
    session?.destroy();
  }
}
