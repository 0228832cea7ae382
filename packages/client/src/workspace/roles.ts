/**
 * PostgreSQL roles of an Autoscaling branch over the roles API (reference 2.1/2.3): list, create and delete. A role
 * is a Databricks identity's (a user's email, a service principal's application id, a group name; it logs in with
 * database tokens: `LAKEBASE_OAUTH_V1`, a group never logs in), or a plain PostgreSQL role with a SCRAM password
 * (`PG_PASSWORD_SCRAM_SHA_256`, the password set by the owner in SQL) or none (`NO_LOGIN`).
 */
import {
  type BranchName,
  fromServer,
  parseRoleId,
  parseRoleName,
  type RoleId,
  type RoleName,
} from '../config/names.js';
import { isLakebaseError, LakebaseError } from '../errors.js';
import type { LakebaseApi } from './api.js';
import { type Operation, type OperationWaitOptions, waitForOperation } from './operations.js';

/** How a role logs in. */
export type RoleAuthMethod = 'LAKEBASE_OAUTH_V1' | 'PG_PASSWORD_SCRAM_SHA_256' | 'NO_LOGIN';
/** Whose role it is (`--identity`): a workspace user, group or service principal. */
export type RoleIdentity = 'user' | 'group' | 'service-principal';

const IDENTITY_TYPES: Record<RoleIdentity, string> = {
  user: 'USER',
  group: 'GROUP',
  'service-principal': 'SERVICE_PRINCIPAL',
};

/** A role as listed, flattened from the API's `status`. */
export interface RoleInfo {
  /** The PostgreSQL role name (what `PGUSER` is). */
  role: string;
  roleId: RoleId;
  /** USER, SERVICE_PRINCIPAL, GROUP, PG_ONLY or a newer value. */
  identityType: string;
  authMethod: string;
  membershipRoles: string[];
  raw: Record<string, unknown>;
}

/** What to create: an identity's role (OAuth; a group's is NO_LOGIN), or a plain role with a password or no login. */
export interface CreateRoleSpec {
  role: string;
  identity?: RoleIdentity;
  /** For a plain role: `PG_PASSWORD_SCRAM_SHA_256` (default) or `NO_LOGIN`. */
  authMethod?: RoleAuthMethod;
  /** Make it a member of `databricks_superuser`. */
  superuser?: boolean;
  wait?: OperationWaitOptions;
}

/** The role id the API keys a role by: the name lowercased, every run of other characters a `-`, a letter first. */
export function roleIdFor(role: string): RoleId {
  const id = role
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .replace(/-+$/, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return parseRoleId(id || 'role', 'role id');
}

/** The auth method of `spec`, refusing combinations the API refuses (before any request). */
export function authMethodOf(spec: Pick<CreateRoleSpec, 'identity' | 'authMethod'>): RoleAuthMethod {
  if (spec.identity === undefined) return spec.authMethod ?? 'PG_PASSWORD_SCRAM_SHA_256';
  if (spec.identity === 'group') return 'NO_LOGIN';
  if (spec.authMethod === 'PG_PASSWORD_SCRAM_SHA_256') {
    throw new LakebaseError(
      'LAKEBASE_USAGE_ERROR',
      "A workspace identity's role logs in with OAuth tokens; a password role has no --identity.",
      { suggestion: 'Drop --identity for a password role, or drop --password for an identity role.' },
    );
  }
  return spec.authMethod ?? 'LAKEBASE_OAUTH_V1';
}

function toRoleInfo(raw: Record<string, unknown>): RoleInfo {
  const status = (raw.status ?? raw.spec ?? {}) as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === 'string' ? value : '');
  return {
    role: text(status.postgres_role),
    roleId: fromServer(parseRoleId, raw.role_id, 'a role id'),
    identityType: text(status.identity_type) || 'PG_ONLY',
    authMethod: text(status.auth_method),
    membershipRoles: Array.isArray(status.membership_roles) ? status.membership_roles.map(String) : [],
    raw,
  };
}

export async function listRoles(api: LakebaseApi, branch: BranchName): Promise<RoleInfo[]> {
  const body = await api.postgres<{ roles?: Record<string, unknown>[] }>(
    'GET',
    branch,
    undefined,
    `roles of ${branch}`,
    {
      collection: 'roles',
      query: { page_size: '100' },
    },
  );
  return (body.roles ?? []).map(toRoleInfo);
}

/** Creates the role and waits for the operation. A taken name is `LAKEBASE_ROLE_EXISTS`. */
export async function createRole(api: LakebaseApi, branch: BranchName, spec: CreateRoleSpec): Promise<RoleInfo> {
  const role: RoleName = parseRoleName(spec.role, 'role');
  const authMethod = authMethodOf(spec);
  const body = {
    spec: {
      postgres_role: role,
      ...(spec.identity ? { identity_type: IDENTITY_TYPES[spec.identity] } : { identity_type: 'PG_ONLY' }),
      auth_method: authMethod,
      ...(spec.superuser ? { membership_roles: ['DATABRICKS_SUPERUSER'] } : {}),
    },
  };
  let operation: Operation<Record<string, unknown>>;
  try {
    operation = await api.postgres('POST', branch, body, `role ${role}`, {
      collection: 'roles',
      query: { role_id: roleIdFor(role) },
    });
  } catch (error) {
    const details = (isLakebaseError(error) ? error.details : undefined) as { errorCode?: string } | undefined;
    if (isLakebaseError(error) && (details?.errorCode === 'ALREADY_EXISTS' || /already exists/i.test(error.message))) {
      throw new LakebaseError('LAKEBASE_ROLE_EXISTS', `Role "${role}" already exists on ${branch}.`, {
        suggestion: 'Pick another name, or `lakebase role delete` the old role first.',
        cause: error,
      });
    }
    throw error;
  }
  return toRoleInfo(await waitForOperation(api, operation, spec.wait));
}

/** Deletes the role named `role` (its PostgreSQL name). A role the branch does not have is `LAKEBASE_ROLE_NOT_FOUND`. */
export async function deleteRole(
  api: LakebaseApi,
  branch: BranchName,
  role: string,
  wait?: OperationWaitOptions,
): Promise<void> {
  const name = parseRoleName(role, 'role');
  const found = (await listRoles(api, branch)).find((r) => r.role === name);
  if (!found) {
    throw new LakebaseError('LAKEBASE_ROLE_NOT_FOUND', `Role "${name}" does not exist on ${branch}.`, {
      suggestion: 'Run `lakebase role list` for the roles there are.',
    });
  }
  const operation = await api.postgres<Operation>('DELETE', branch, undefined, `role ${name}`, {
    collection: 'roles',
    id: found.roleId,
  });
  await waitForOperation(api, operation, wait);
}
