/**
 * What the REST API reaches in the workspace: the resource models, the fault injectors, identities and tokens, and
 * the counters. `WorkspaceImpl` (workspace.ts) provides it; the routes name this interface, not the class, so the HTTP
 * layer never imports the file that composes it.
 */

import type { ResourceRef } from '../../contracts.js';
import type { FaultInjector } from '../login/faults.js';
import type { LoginFaultInjector } from '../login/login-faults.js';
import type { AutoscalingModel } from '../model/autoscaling.js';
import type { ForcedInstanceState } from '../model/context.js';
import type { PermissionModel } from '../model/permissions.js';
import type { InstanceModel } from '../model/provisioned.js';
import type { RoleRegistry } from '../model/roles.js';
import type { IdentityRecord } from '../model/state.js';
import type { WorkspaceStats } from '../model/stats.js';
import type { TokenScope } from '../model/tokens.js';

export interface ApiWorkspace {
  readonly workspaceId: string;
  readonly instances: InstanceModel;
  readonly autoscaling: AutoscalingModel;
  readonly roles: RoleRegistry;
  readonly permissions: PermissionModel;
  readonly faults: FaultInjector;
  readonly loginFaults: LoginFaultInjector;
  readonly tokenTtlSeconds: number;
  now(): number;
  /** The configured base URL, or the one the request arrived at. */
  baseUrlOr(requestOrigin: string): string;
  authenticateBearerWithScopes(
    token: string,
  ): Promise<{ identity: IdentityRecord; scopes: string[] | undefined } | undefined>;
  clientByCredentials(clientId: string, clientSecret: string): IdentityRecord | undefined;
  issueAccessToken(clientId: string, scope: string, issuer: string): Promise<string>;
  issueUserToken(
    email: string,
    options?: { scopes?: string[]; role?: boolean },
  ): Promise<{ access_token: string; token_type: 'Bearer'; expires_in: number; scope: string }>;
  revokeAccessToken(token: string): Promise<void>;
  mintDatabaseToken(
    userName: string,
    resources: ResourceRef[],
    ttlSeconds?: number,
    scope?: TokenScope,
  ): Promise<{ token: string; expiresAt: Date }>;
  setInstanceState(name: string, state: ForcedInstanceState): void;
  setTokenTtl(seconds: number): void;
  stats(): WorkspaceStats;
  countCredentialRequest(tier: 'provisioned' | 'autoscaling'): void;
  countInjectedFailure(): void;
  countUnknownEndpoint(method: string, path: string): void;
  countTelemetryReport(): void;
}
