/**
 * API roles and what each may do. A token has exactly one role; roles nest:
 * admin ⊇ register ⊇ read.
 */
export const ROLES = ['read', 'register', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** What an endpoint demands of the caller. */
export type Permission = 'read' | 'register' | 'admin';

const GRANTS: Record<Role, ReadonlySet<Permission>> = {
  read: new Set(['read']),
  register: new Set(['read', 'register']),
  admin: new Set(['read', 'register', 'admin']),
};

/** roleAllows reports whether a token of role may perform an action needing permission. */
export function roleAllows(role: Role, permission: Permission): boolean {
  return GRANTS[role].has(permission);
}
