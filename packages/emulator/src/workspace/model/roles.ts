import { ApiError } from './api-error.js';
import type { StateDocument } from './state.js';

/** Who a PostgreSQL role stands for, as the roles APIs name it. `PG_ONLY` is a plain role with no Databricks identity. */
export type RoleIdentityType = 'USER' | 'SERVICE_PRINCIPAL' | 'GROUP' | 'PG_ONLY';
const IDENTITY_TYPES: readonly RoleIdentityType[] = ['USER', 'SERVICE_PRINCIPAL', 'GROUP', 'PG_ONLY'];

/** How a role logs in: with database tokens (OAuth), its own SCRAM password, or not at all. */
export type RoleAuthMethod = 'LAKEBASE_OAUTH_V1' | 'PG_PASSWORD_SCRAM_SHA_256' | 'NO_LOGIN';
const AUTH_METHODS: readonly RoleAuthMethod[] = ['LAKEBASE_OAUTH_V1', 'PG_PASSWORD_SCRAM_SHA_256', 'NO_LOGIN'];

/** A role the workspace made (roles API, `databricks_create_role`, or an identity's default role). */
export interface RoleRecord {
  postgresRole: string;
  identityType: RoleIdentityType;
  authMethod: RoleAuthMethod;
  createTime: number;
  membershipRoles: string[];
  /** The owner's role: CREATEDB, CREATEROLE and BYPASSRLS (as storage makes it); others have none. */
  owner?: boolean;
  /** The uid of the instance or project whose roles API made it (see `PermissionModel.requireRoleHome`). */
  madeOn?: string;
}

/**
 * Makes and checks roles in storage. Wired by `startEmulator` to the storage in use, so a role made through the API
 * exists in PostgreSQL at once (a `GRANT group TO "user@x"` works before the user's first login), and a role made in
 * SQL with `databricks_create_role` is found at login.
 */
export interface RoleStore {
  create(role: string, identityType: RoleIdentityType, authMethod: RoleAuthMethod): Promise<void>;
  exists(role: string): Promise<boolean>;
  /** The role's SCRAM verifier in storage (a native password role's), undefined when it has none. */
  verifier?(role: string): Promise<string | undefined>;
  /** Makes the role a member of `databricks_superuser` in storage. */
  addSuperuserMember?(role: string): Promise<void>;
}

/**
 * The PostgreSQL roles of the workspace, one list for every instance and branch (the emulator keeps one storage per
 * database name, shared by all resources, as the default instance and endpoint share theirs). A Databricks identity
 * may log in only once it has a role here, as on Lakebase.
 */
export class RoleRegistry {
  private store: RoleStore | undefined;
  /** Roles are made in storage one at a time: concurrent GRANTs on one database fail "tuple concurrently updated". */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly state: StateDocument & { roles?: RoleRecord[]; deletedRoles?: string[] },
    private readonly now: () => number,
    private readonly persist: () => void,
  ) {}

  /** True when the state file predates roles (then every identity in it gets its role, as before). */
  get unset(): boolean {
    return this.state.roles === undefined;
  }

  attach(store: RoleStore): void {
    this.store = store;
  }

  list(): RoleRecord[] {
    this.state.roles ??= [];
    return this.state.roles;
  }

  find(postgresRole: string): RoleRecord | undefined {
    return this.list().find((r) => r.postgresRole === postgresRole);
  }

  get(postgresRole: string): RoleRecord {
    const found = this.find(postgresRole);
    if (!found) throw new ApiError(404, 'NOT_FOUND', `role not found; role_id:"${postgresRole}"`);
    return found;
  }

  /** Records a role without touching storage (an identity's own role, made by storage on first login). */
  record(postgresRole: string, identityType: RoleIdentityType): RoleRecord {
    const existing = this.find(postgresRole);
    if (existing) return existing;
    this.state.deletedRoles = this.state.deletedRoles?.filter((name) => name !== postgresRole);
    const record: RoleRecord = {
      postgresRole,
      identityType,
      authMethod: identityType === 'GROUP' ? 'NO_LOGIN' : 'LAKEBASE_OAUTH_V1',
      createTime: this.now(),
      membershipRoles: [],
    };
    this.list().push(record);
    this.persist();
    return record;
  }

  /** Records the owner's role as Lakebase reports it: a databricks_superuser member with the owner attributes. */
  markOwner(postgresRole: string): void {
    const record = this.find(postgresRole);
    if (!record || record.owner) return;
    record.owner = true;
    if (!record.membershipRoles.includes('DATABRICKS_SUPERUSER')) record.membershipRoles.push('DATABRICKS_SUPERUSER');
    this.persist();
  }

  /**
   * The roles API: a new role, made in storage now. 400 when it exists, as Lakebase answers. A Databricks identity
   * (USER, SERVICE_PRINCIPAL) logs in with tokens, a GROUP does not log in; a plain role (PG_ONLY) has a SCRAM
   * password (set by the owner with `ALTER ROLE ... PASSWORD`) or NO_LOGIN.
   */
  async create(
    postgresRole: unknown,
    identityType: unknown,
    membershipRoles: string[] = [],
    authMethod?: unknown,
    madeOn?: string,
  ): Promise<RoleRecord> {
    if (typeof postgresRole !== 'string' || postgresRole.length === 0 || postgresRole.length > 63) {
      throw new ApiError(
        400,
        'INVALID_PARAMETER_VALUE',
        'Field postgres_role must be a role name of 1 to 63 characters.',
      );
    }
    const type = (identityType ?? 'PG_ONLY') as RoleIdentityType;
    if (!IDENTITY_TYPES.includes(type)) {
      throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `identity_type must be one of ${IDENTITY_TYPES.join(', ')}.`);
    }
    const auth = authMethodFor(type, authMethod);
    // databricks_superuser exists on every Lakebase branch; pg_ names are PostgreSQL's own.
    if (this.find(postgresRole) || postgresRole === 'databricks_superuser') {
      throw new ApiError(400, 'BAD_REQUEST', 'role with that name already exists');
    }
    if (postgresRole.startsWith('pg_')) {
      throw new ApiError(400, 'INVALID_PARAMETER_VALUE', 'Role names starting with "pg_" are reserved.');
    }
    await this.inStorage(postgresRole, type, auth);
    if (membershipRoles.includes('DATABRICKS_SUPERUSER')) await this.store?.addSuperuserMember?.(postgresRole);
    const record = this.record(postgresRole, type);
    record.membershipRoles = membershipRoles;
    record.authMethod = auth;
    if (madeOn !== undefined) record.madeOn = madeOn;
    this.persist();
    return record;
  }

  /** A native password role's SCRAM verifier, from storage. */
  async verifier(postgresRole: string): Promise<string | undefined> {
    return this.store?.verifier?.(postgresRole);
  }

  /** Makes a recorded role exist in storage now (idempotent), so grants to it work before its first login. */
  async materialize(postgresRole: string): Promise<void> {
    const record = this.get(postgresRole);
    await this.inStorage(postgresRole, record.identityType, record.authMethod);
  }

  private inStorage(postgresRole: string, type: RoleIdentityType, auth: RoleAuthMethod): Promise<void> {
    const store = this.store;
    if (!store) return Promise.resolve();
    const done = this.queue.then(() => store.create(postgresRole, type, auth));
    this.queue = done.catch(() => {});
    return done;
  }

  /**
   * The roles API's delete: the identity can no longer log in. The PostgreSQL role itself is kept with what it owns
   * (the emulator does not model `reassign_owned_to`), and is not found again through storage until made anew.
   */
  delete(postgresRole: string): void {
    this.get(postgresRole);
    this.state.roles = this.list().filter((r) => r.postgresRole !== postgresRole);
    this.state.deletedRoles = [...(this.state.deletedRoles ?? []), postgresRole];
    this.persist();
  }

  /**
   * Whether `postgresRole` may log in: recorded here, or made in SQL (`databricks_create_role`) and found in storage,
   * which records it.
   */
  async canLogIn(postgresRole: string, identityType: RoleIdentityType): Promise<boolean> {
    if (this.find(postgresRole)) return true;
    if (this.state.deletedRoles?.includes(postgresRole)) return false;
    if (!(await this.store?.exists(postgresRole))) return false;
    this.record(postgresRole, identityType);
    return true;
  }
}

/** The auth method of a new role: asked for (checked against its identity type) or the type's default. */
function authMethodFor(type: RoleIdentityType, asked: unknown): RoleAuthMethod {
  const fallback: RoleAuthMethod =
    type === 'GROUP' ? 'NO_LOGIN' : type === 'PG_ONLY' ? 'PG_PASSWORD_SCRAM_SHA_256' : 'LAKEBASE_OAUTH_V1';
  if (asked === undefined || asked === null || asked === '') return fallback;
  if (!AUTH_METHODS.includes(asked as RoleAuthMethod)) {
    throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `auth_method must be one of ${AUTH_METHODS.join(', ')}.`);
  }
  const auth = asked as RoleAuthMethod;
  if (auth === 'LAKEBASE_OAUTH_V1' && type === 'PG_ONLY') {
    throw new ApiError(
      400,
      'INVALID_PARAMETER_VALUE',
      'auth_method LAKEBASE_OAUTH_V1 needs a Databricks identity_type.',
    );
  }
  if (auth === 'PG_PASSWORD_SCRAM_SHA_256' && type !== 'PG_ONLY') {
    throw new ApiError(400, 'INVALID_PARAMETER_VALUE', 'auth_method PG_PASSWORD_SCRAM_SHA_256 is for PG_ONLY roles.');
  }
  if (type === 'GROUP' && auth !== 'NO_LOGIN') {
    throw new ApiError(400, 'INVALID_PARAMETER_VALUE', 'A GROUP role cannot log in: use auth_method NO_LOGIN.');
  }
  return auth;
}

/** The role attributes the APIs report: the owner's three, or none. */
function attributesOf(role: RoleRecord): { bypassrls: boolean; createdb: boolean; createrole: boolean } {
  const owner = role.owner === true;
  return { bypassrls: owner, createdb: owner, createrole: owner };
}

/** Provisioned `DatabaseInstanceRole` (reference 1.2). */
export function instanceRoleJson(role: RoleRecord, instanceName: string): Record<string, unknown> {
  return {
    name: role.postgresRole,
    instance_name: instanceName,
    identity_type: role.identityType,
    ...(role.membershipRoles.includes('DATABRICKS_SUPERUSER') ? { membership_role: 'DATABRICKS_SUPERUSER' } : {}),
    attributes: attributesOf(role),
    effective_attributes: attributesOf(role),
  };
}

/** Autoscaling `Role` (reference 2.3). */
export function branchRoleJson(role: RoleRecord, branch: string): Record<string, unknown> {
  const roleId = roleIdOf(role.postgresRole);
  const spec = {
    postgres_role: role.postgresRole,
    identity_type: role.identityType,
    auth_method: role.authMethod,
    membership_roles: role.membershipRoles,
    attributes: attributesOf(role),
  };
  const created = new Date(role.createTime).toISOString();
  return {
    name: `${branch}/roles/${roleId}`,
    role_id: roleId,
    parent: branch,
    create_time: created,
    update_time: created,
    spec,
    status: spec,
  };
}

/** A role id (`[a-z0-9-]`, 1..63) derived from a role name such as an email. */
export function roleIdOf(postgresRole: string): string {
  const id = postgresRole
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .replace(/-+$/, '')
    .slice(0, 63);
  return id || 'role';
}
