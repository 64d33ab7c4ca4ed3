import type { Principal } from '../domain/permissions.js';

/** The credential a request was authenticated with, for the few uses that depend on it (issuing tokens). */
export interface CallerCredential {
  readonly kind: 'api-key' | 'token' | 'session';
  readonly id: string;
  readonly defaultWorkspaceId: string | null;
}

/** Who is asking, as every service call receives it. Services never see a request object. */
export interface Actor {
  readonly principal: Principal;
  readonly requestId: string;
  /** Unset for callers that are not requests (the CLI, bootstrap). */
  readonly credential?: CallerCredential;
  /**
   * The origin (`http://host:port`) the caller addressed, from its Host header: only for URLs sent back to this
   * caller, never stored. Unset for callers that are not requests, or whose Host is no host name.
   */
  readonly requestOrigin?: string;
}

/** A principal as a credential proved it. */
export interface Authenticated {
  readonly principal: Principal;
  readonly credential: CallerCredential;
}
