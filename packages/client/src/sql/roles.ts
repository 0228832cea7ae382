/**
 * The roles of the configured branch (what `lakebase role` calls): list, create, delete over the roles API, and for
 * a native password role the password itself: generated here, set by the connected owner with `ALTER ROLE ...
 * PASSWORD '<SCRAM verifier>'` (so the password never crosses the wire), and returned once.
 */
import { withConfiguredBranch } from '../connection/branch-target.js';
import { withClient } from '../connection/client.js';
import type { ConnectionTarget, ConnectorOptions, LakebaseConnector } from '../connection/connector.js';
import { LakebaseError, registerSecret } from '../errors.js';
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
  /** With `password`: a `LAKEBASE_PG_URL` that logs in as the role (host, database and TLS of the configured target). */
  url?: string;
}

/** The roles of the branch of the configured Autoscaling endpoint (`LAKEBASE_ENDPOINT`, `LAKEBASE_BRANCH`). */
export class LakebaseRoles {
  constructor(private readonly options: ConnectorOptions = {}) {}

  list(): Promise<RoleInfo[]> {
    return withConfiguredBranch(this.options, 'Roles', ({ api, branch }) => listRoles(api, branch));
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
    let target: ConnectionTarget | undefined;
    let tls = '';
    const role = await withConfiguredBranch(this.options, 'Roles', (context) => {
      target = context.target;
      tls = tlsParams(context.connector);
      return createRole(context.api, context.branch, spec);
    });
    const authMethod = (role.authMethod || (options.noLogin ? 'NO_LOGIN' : 'LAKEBASE_OAUTH_V1')) as RoleAuthMethod;
    if (authMethod !== 'PG_PASSWORD_SCRAM_SHA_256' || !target) return { role, authMethod };
    const password = generateRolePassword();
    registerSecret(password); // never in a log line or an error message
    try {
      await withClient(this.options, (client) =>
        client.query(`ALTER ROLE ${quoteIdent(role.role)} PASSWORD ${quoteLiteral(scramSha256Verifier(password))}`),
      );
    } catch (error) {
      if ((error as { code?: unknown }).code !== '42501') throw error;
      throw new LakebaseError(
        'LAKEBASE_PERMISSION_DENIED',
        `Role "${role.role}" was created, but the configured identity may not set its password: ${(error as Error).message}`,
        {
          suggestion: `Run it as the project owner (a databricks_superuser member with CREATEROLE): \`lakebase role delete ${role.role}\`, then create it again.`,
          cause: error,
        },
      );
    }
    const { host, port, database } = target;
    const hostPart = host.includes(':') ? `[${host}]` : host;
    const url = `postgresql://${encodeURIComponent(role.role)}:${encodeURIComponent(password)}@${hostPart}:${port}/${encodeURIComponent(database)}?${tls}`;
    return { role, authMethod, password, url };
  }

  delete(name: string): Promise<void> {
    return withConfiguredBranch(this.options, 'Roles', ({ api, branch }) => deleteRole(api, branch, name));
  }
}

/** The URL query for the configured TLS (libpq names: `sslmode`, `sslrootcert`), as the static URL parser reads it. */
function tlsParams(connector: LakebaseConnector): string {
  const query = new URLSearchParams({ sslmode: connector.config.sslMode });
  if (connector.config.sslRootCert) query.set('sslrootcert', connector.config.sslRootCert);
  return query.toString();
}
