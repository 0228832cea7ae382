/**
 * The roles of the configured branch (what `lakebase role` calls): list, create, delete over the roles API, and for
 * a native password role the password itself: generated here, set by the connected owner with `ALTER ROLE ...
 * PASSWORD '<SCRAM verifier>'` (so the password never crosses the wire), and returned once.
 */
import { branchOf, parseEndpointName } from '../config/names.js';
import { withClient } from '../connection/client.js';
import { type ConnectorOptions, LakebaseConnector } from '../connection/connector.js';
import { LakebaseError, registerSecret } from '../errors.js';
import type { LakebaseApi } from '../workspace/api.js';
import {
  type CreateRoleSpec,
  createRole,
  deleteRole,
  listRoles,
  type RoleAuthMethod,
  type RoleIdentity,
  type RoleInfo,
} from '../workspace/roles.js';
import { quoteIdent, quoteLiteral } from './quote.js';
import { generateRolePassword, scramSha256Verifier } from './scram.js';

/** What `lakebase role create` asks for. With none of them: a native password role. */
export interface RoleCreateOptions {
  /** A workspace identity's role (OAuth login; a group's role does not log in). */
  identity?: RoleIdentity;
  /** A role that cannot log in (a group of privileges to grant). */
  noLogin?: boolean;
  /** Also a member of `databricks_superuser`. */
  superuser?: boolean;
}

/** A created role; `password` only for a native password role, generated now and shown nowhere else. */
export interface CreatedRole {
  role: RoleInfo;
  authMethod: RoleAuthMethod;
  password?: string;
}

/** The roles of the branch of the configured Autoscaling endpoint (`LAKEBASE_ENDPOINT`, `LAKEBASE_BRANCH`). */
export class LakebaseRoles {
  constructor(private readonly options: ConnectorOptions = {}) {}

  list(): Promise<RoleInfo[]> {
    return this.onBranch((api, branch) => listRoles(api, branch));
  }

  /**
   * Creates the role. A native password role gets a generated password, set as a SCRAM verifier by the configured
   * identity (the owner: a member of databricks_superuser with CREATEROLE), and returned.
   */
  async create(name: string, options: RoleCreateOptions = {}): Promise<CreatedRole> {
    const spec: CreateRoleSpec = {
      role: name,
      ...(options.identity ? { identity: options.identity } : {}),
      ...(options.noLogin ? { authMethod: 'NO_LOGIN' as const } : {}),
      ...(options.superuser ? { superuser: true } : {}),
    };
    const role = await this.onBranch((api, branch) => createRole(api, branch, spec));
    const authMethod = (role.authMethod || (options.noLogin ? 'NO_LOGIN' : 'LAKEBASE_OAUTH_V1')) as RoleAuthMethod;
    if (authMethod !== 'PG_PASSWORD_SCRAM_SHA_256') return { role, authMethod };
    const password = generateRolePassword();
    registerSecret(password); // never in a log line or an error message
    await withClient(this.options, (client) =>
      client.query(`ALTER ROLE ${quoteIdent(role.role)} PASSWORD ${quoteLiteral(scramSha256Verifier(password))}`),
    );
    return { role, authMethod, password };
  }

  delete(name: string): Promise<void> {
    return this.onBranch((api, branch) => deleteRole(api, branch, name));
  }

  private async onBranch<T>(work: (api: LakebaseApi, branch: ReturnType<typeof branchOf>) => Promise<T>): Promise<T> {
    const connector = new LakebaseConnector(this.options, { backgroundRefresh: false });
    try {
      const target = await connector.target();
      if (!target.endpoint || !connector.api) {
        throw new LakebaseError(
          'LAKEBASE_CONFIG_INVALID',
          'Roles are managed on an Autoscaling branch, but the configured target is not an Autoscaling endpoint.',
          {
            suggestion:
              'Set LAKEBASE_ENDPOINT (e.g. projects/my-app/branches/production/endpoints/primary), or run `lakebase configure --endpoint ...`.',
          },
        );
      }
      return await work(connector.api, branchOf(parseEndpointName(target.endpoint, 'endpoint')));
    } finally {
      await connector.close();
    }
  }
}
