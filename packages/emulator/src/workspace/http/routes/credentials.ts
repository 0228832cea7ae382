import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ResourceRef } from '../../../contracts.js';
import { ApiError, invalidParameter, requiredField } from '../../model/api-error.js';
import type { TokenScope } from '../../model/tokens.js';
import { mayMintDatabaseCredential, POSTGRES_SCOPE } from '../../model/users.js';
import type { ApiWorkspace } from '../api-workspace.js';
import { identityOf, scopesOf } from './auth.js';
import { claims } from './schemas.js';

interface ProvisionedBody {
  request_id?: string;
  instance_names?: string[];
  claims?: unknown[];
}

interface AutoscalingBody {
  endpoint?: string;
  claims?: unknown[];
  ttl?: string;
  expire_time?: string;
  group_name?: string;
}

const MIN_TTL_SECONDS = 300;
const MAX_TTL_SECONDS = 3600;

/**
 * Both credential endpoints (reference 1.3 and 2.4). Each call is counted, then delayed and possibly failed by the
 * fault injector (before any validation, as an overloaded service would), then validated and answered.
 */
export function credentialRoutes(ws: ApiWorkspace): FastifyPluginAsync {
  const gate = async (request: FastifyRequest, tier: 'provisioned' | 'autoscaling') => {
    // A user token forwarded by an app without the `postgres` user scope: refused as Databricks does.
    if (!mayMintDatabaseCredential(scopesOf(request))) {
      throw new ApiError(
        403,
        'PERMISSION_DENIED',
        `Provided OAuth token does not have required scopes: ${POSTGRES_SCOPE} [ReqId: ${request.id}]`,
      );
    }
    ws.countCredentialRequest(tier);
    await ws.faults.delay();
    const failure = ws.faults.nextFailure();
    if (failure) {
      ws.countInjectedFailure();
      throw failure;
    }
  };
  const mint = (request: FastifyRequest, resources: ResourceRef[], ttl?: number, scope?: TokenScope) =>
    ws.mintDatabaseToken(identityOf(request).userName, resources, ttl, scope);

  return async (app) => {
    app.post<{ Body: ProvisionedBody }>(
      '/database/credentials',
      {
        schema: {
          body: {
            type: 'object',
            properties: {
              request_id: { type: 'string' },
              instance_names: { type: 'array', items: { type: 'string' } },
              claims,
            },
          },
        },
      },
      async (request) => {
        await gate(request, 'provisioned');
        const names = request.body.instance_names ?? [];
        if (names.length === 0 && !request.body.claims?.length) {
          throw invalidParameter('At least one of instance_names or claims must be specified.');
        }
        for (const name of names) ws.instances.get(name);
        const { token, expiresAt } = await mint(
          request,
          [...new Set(names)].map((name) => ({ kind: 'instance', name })),
          undefined,
          scopeOf(request.body.claims),
        );
        return { token, expiration_time: expiresAt.toISOString() };
      },
    );

    app.post<{ Body: AutoscalingBody }>(
      '/postgres/credentials',
      {
        schema: {
          body: {
            type: 'object',
            properties: {
              endpoint: { type: 'string' },
              claims,
              ttl: { type: 'string' },
              expire_time: { type: 'string' },
              group_name: { type: 'string' },
            },
          },
        },
      },
      async (request) => {
        await gate(request, 'autoscaling');
        const { endpoint, ttl, expire_time: expireTime } = request.body;
        if (!endpoint) throw requiredField('endpoint');
        const name = ws.autoscaling.json.endpoint(ws.autoscaling.endpointByName(endpoint)).name as string;
        const requested = requestedTtl(ttl, expireTime, ws.now());
        const lifetime = requested === undefined ? undefined : Math.min(requested, ws.tokenTtlSeconds);
        const scope = scopeOf(request.body.claims);
        const { token, expiresAt } = await mint(request, [{ kind: 'endpoint', name }], lifetime, scope);
        return { token, expire_time: expiresAt.toISOString() };
      },
    );
  };
}

const TABLE_NAME = /^[^.\s]{1,63}(\.[^.\s]{1,63}){1,2}$/;

/**
 * What `claims` ask for (reference 1.3/2.4): every claim's `permission_set` must be `READ_ONLY` (the only one there
 * is); `resources[].table_name` (`schema.table` or `catalog.schema.table`) limit the session to those tables, and a
 * claim without resources makes it read-only on everything the identity may read. Undefined without claims.
 */
function scopeOf(claims: unknown[] | undefined): TokenScope | undefined {
  if (!claims?.length) return undefined;
  const tables: string[] = [];
  for (const claim of claims as { permission_set?: unknown; resources?: unknown }[]) {
    if (claim.permission_set !== 'READ_ONLY') {
      throw invalidParameter(`Field claims.permission_set must be READ_ONLY, got '${String(claim.permission_set)}'.`);
    }
    const resources = Array.isArray(claim.resources) ? claim.resources : [];
    for (const resource of resources as { table_name?: unknown }[]) {
      const name = resource?.table_name;
      if (typeof name !== 'string' || !TABLE_NAME.test(name)) {
        throw invalidParameter(
          `Field claims.resources.table_name must name a table (schema.table), got '${String(name)}'.`,
        );
      }
      tables.push(name);
    }
  }
  return tables.length > 0 ? { readOnly: true, tables: [...new Set(tables)] } : { readOnly: true };
}

/** The lifetime asked for with `ttl` ("300s".."3600s") or `expire_time` (now+5 min..now+1 h), in seconds. */
function requestedTtl(ttl: string | undefined, expireTime: string | undefined, nowMs: number): number | undefined {
  if (ttl !== undefined && expireTime !== undefined) {
    throw invalidParameter('Only one of ttl and expire_time may be specified.');
  }
  if (ttl !== undefined) {
    const match = /^(\d+(?:\.\d+)?)s$/.exec(ttl);
    const seconds = match ? Number(match[1]) : Number.NaN;
    if (!(seconds >= MIN_TTL_SECONDS && seconds <= MAX_TTL_SECONDS)) {
      throw invalidParameter(`Field ttl must be between ${MIN_TTL_SECONDS}s and ${MAX_TTL_SECONDS}s, got '${ttl}'.`);
    }
    return seconds;
  }
  if (expireTime !== undefined) {
    const seconds = (Date.parse(expireTime) - nowMs) / 1000;
    // A second of slack: the client computed its expire_time a moment before we read the clock.
    if (!(seconds >= MIN_TTL_SECONDS - 1 && seconds <= MAX_TTL_SECONDS + 1)) {
      throw invalidParameter(`Field expire_time must be between now+5 minutes and now+1 hour, got '${expireTime}'.`);
    }
    return Math.min(Math.max(seconds, MIN_TTL_SECONDS), MAX_TTL_SECONDS);
  }
  return undefined;
}
