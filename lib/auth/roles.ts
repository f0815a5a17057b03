/**
 * API roles and what each may do. A token has exactly one role: read; register
 * (read, and instance writes); kv (read, and KV writes); admin (everything).
 */
export const ROLES = ['read', 'register', 'kv', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** What an endpoint demands of the caller. */
export type Permission = 'read' | 'register' | 'kv' | 'admin';

const GRANTS: Record<Role, ReadonlySet<Permission>> = {
  read: new Set(['read']),
  register: new Set(['read', 'register']),
  kv: new Set(['read', 'kv']),
  admin: new Set(['read', 'register', 'kv', 'admin']),
};

/** roleAllows reports whether a token of role may perform an action needing permission. */
export function roleAllows(role: Role, permission: Permission): boolean {
  return GRANTS[role].has(permission);
}
