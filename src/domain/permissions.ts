/** Workspace roles, strongest first. */
export const ROLES = ['owner', 'admin', 'editor', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

const rank: Record<Role, number> = { owner: 4, admin: 3, editor: 2, viewer: 1 };

/** Every action a principal can be allowed, with the weakest role that may do it. */
const minimumRole = {
  'workspace:read': 'viewer',
  'workspace:update': 'admin',
  'workspace:delete': 'owner',
  'connector:read': 'viewer',
  'connector:create': 'editor',
  'connector:update': 'editor',
  'connector:delete': 'editor',
  'connection:read': 'viewer',
  'connection:create': 'editor',
  'connection:update': 'editor',
  'connection:delete': 'editor',
  'connection:test': 'editor',
  'access-client:read': 'viewer',
  'access-client:create': 'editor',
  'access-client:update': 'editor',
  'access-client:delete': 'editor',
  'member:read': 'viewer',
  'member:manage': 'admin',
  'api-key:read': 'admin',
  'api-key:manage': 'admin',
  'access-key:read': 'admin',
  'access-key:manage': 'admin',
  /** Outgoing webhooks: their URLs are where plugboard connects, their secrets sign what it says. */
  'webhook:read': 'admin',
  'webhook:manage': 'admin',
  'audit:read': 'viewer',
  'toolset:read': 'viewer',
  'toolset:create': 'editor',
  'toolset:update': 'editor',
  'toolset:delete': 'editor',
  /** Calling a tool with the principal's own rights (an OAuth caller, the console's "try a tool"); it may change things upstream. */
  'toolset:call': 'editor',
  'oauth-grant:read': 'owner',
  'oauth-grant:manage': 'owner',
} as const satisfies Record<string, Role>;

export type Action = keyof typeof minimumRole;
export const ACTIONS = Object.keys(minimumRole) as Action[];

/** Who is calling: a principal with its role in each workspace it belongs to. */
export interface Principal {
  readonly id: string;
  readonly name: string;
  readonly status: 'active' | 'disabled';
  readonly roles: ReadonlyMap<string, Role>;
}

/**
 * `not-member` is kept apart from `forbidden` so that edges can hide a workspace's existence
 * from callers outside it (the native API answers 404 for it).
 */
export type Decision = 'allowed' | 'forbidden' | 'not-member';

/** The one place that decides whether a principal may perform an action in a workspace. */
export function can(principal: Principal, action: Action, workspaceId: string): Decision {
  if (principal.status !== 'active') return 'forbidden';
  const role = principal.roles.get(workspaceId);
  if (role === undefined) return 'not-member';
  return rank[role] >= rank[minimumRole[action]] ? 'allowed' : 'forbidden';
}

/** A member may hand out roles up to their own, never above it. */
export function canGrant(granter: Role, granted: Role): boolean {
  return rank[granter] >= rank[granted];
}

export function roleAtLeast(role: Role, floor: Role): boolean {
  return rank[role] >= rank[floor];
}
