/**
 * Workspace auth: which Databricks credential to send to the REST API. The provider chain follows the Databricks
 * SDKs: pat -> oauth-m2m -> databricks-cli (U2M) -> metadata-service, first configured wins; DATABRICKS_AUTH_TYPE
 * forces one; attributes of two families at once is the SDKs' "more than one authorization method configured" error.
 */

import type { AuthType, WorkspaceConfig } from '../../config/resolve.js';
import { LakebaseError } from '../../errors.js';
import type { HttpDeps } from '../http.js';
import { applyProfile } from './profile.js';
import {
  databricksCliProvider,
  findDatabricksCli,
  metadataServiceProvider,
  oauthM2mProvider,
  ProviderNotApplicable,
  patProvider,
  type WorkspaceTokenProvider,
} from './providers.js';

export { parseIni } from './profile.js';
export { findDatabricksCli, findExecutable, type WorkspaceTokenProvider } from './providers.js';

const AUTH_SUGGESTION =
  'Authenticate to Databricks: run `databricks auth login --host <workspace-url>`, or set DATABRICKS_HOST with ' +
  'DATABRICKS_TOKEN (PAT) or DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET (service principal).';

/** Resolves and caches the workspace token; `host` is the normalised workspace URL. */
export class WorkspaceAuth {
  readonly host: string;
  readonly workspace: WorkspaceConfig;
  private readonly candidates: WorkspaceTokenProvider[];
  private selected: WorkspaceTokenProvider | undefined;
  private selecting: Promise<WorkspaceTokenProvider> | undefined;

  /**
   * @throws LakebaseError `LAKEBASE_AUTH_NOT_CONFIGURED` (no host / no provider), `LAKEBASE_AUTH_CONFLICT` (two
   *   families), `LAKEBASE_AUTH_PROFILE_NOT_FOUND`, `LAKEBASE_CONFIG_INVALID` (unknown auth_type in a profile, from
   *   `applyProfile`).
   */
  constructor(workspace: WorkspaceConfig, deps: HttpDeps = {}) {
    const ws = applyProfile(workspace);
    this.workspace = ws;
    if (!ws.host) {
      throw new LakebaseError('LAKEBASE_AUTH_NOT_CONFIGURED', 'No Databricks workspace host is configured.', {
        suggestion: `Set DATABRICKS_HOST (or a host in ~/.databrickscfg). ${AUTH_SUGGESTION}`,
      });
    }
    this.host = ws.host;
    if (ws.authType === undefined) validateSingleFamily(ws);
    this.candidates = buildCandidates(ws, this.host, deps);
    if (this.candidates.length === 0) {
      throw new LakebaseError(
        'LAKEBASE_AUTH_NOT_CONFIGURED',
        ws.authType
          ? `DATABRICKS_AUTH_TYPE=${ws.authType} is set but its attributes are missing (or the databricks CLI is not found).`
          : 'No Databricks credentials are configured.',
        { suggestion: AUTH_SUGGESTION, details: { authType: ws.authType } },
      );
    }
  }

  /** The provider in use, once known (`pat` and `oauth-m2m` are known at once; the CLI after its first run). */
  get authType(): AuthType | undefined {
    return this.selected?.name ?? (this.candidates.length === 1 ? this.candidates[0]?.name : undefined);
  }

  /** A bearer token for the workspace REST API. */
  async getToken(): Promise<string> {
    if (this.selected) return this.selected.getToken();
    this.selecting ??= this.select().finally(() => {
      this.selecting = undefined;
    });
    const provider = await this.selecting;
    return provider.getToken();
  }

  /** Drop a cached workspace token (called after the REST API answered 401). */
  invalidate(): void {
    this.selected?.invalidate();
  }

  /** Try candidates in order; the first that yields a token is kept. */
  private async select(): Promise<WorkspaceTokenProvider> {
    const skipped: string[] = [];
    for (const provider of this.candidates) {
      try {
        await provider.getToken();
        this.selected = provider;
        return provider;
      } catch (error) {
        if (error instanceof ProviderNotApplicable && this.workspace.authType === undefined) {
          skipped.push(`${provider.name}: ${error.message}`);
          continue;
        }
        if (error instanceof ProviderNotApplicable) {
          throw new LakebaseError(
            'LAKEBASE_AUTH_NOT_CONFIGURED',
            `${provider.name} auth is not usable: ${error.message}`,
            {
              suggestion: AUTH_SUGGESTION,
            },
          );
        }
        throw error;
      }
    }
    throw new LakebaseError(
      'LAKEBASE_AUTH_NOT_CONFIGURED',
      `No Databricks credentials are available (${skipped.join('; ')}).`,
      {
        suggestion: AUTH_SUGGESTION,
      },
    );
  }
}

/** The SDKs' validation: attributes from more than one auth family, with no auth_type to disambiguate, is an error. */
function validateSingleFamily(ws: WorkspaceConfig): void {
  const families = new Set<string>();
  if (ws.token) families.add('pat');
  if (ws.clientId || ws.clientSecret) families.add('oauth');
  if (ws.metadataServiceUrl) families.add('metadata-service');
  if (families.size > 1) {
    const names = [...families].sort().join(' and ');
    const set = [
      ws.token ? 'DATABRICKS_TOKEN' : undefined,
      ws.clientId ? 'DATABRICKS_CLIENT_ID' : undefined,
      ws.clientSecret ? 'DATABRICKS_CLIENT_SECRET' : undefined,
      ws.metadataServiceUrl ? 'DATABRICKS_METADATA_SERVICE_URL' : undefined,
    ].filter(Boolean);
    const appsCase = families.has('pat') && families.has('oauth');
    throw new LakebaseError(
      'LAKEBASE_AUTH_CONFLICT',
      `validate: more than one authorization method configured: ${names}`,
      {
        suggestion: appsCase
          ? `${set.join(', ')} are all set. In a Databricks App the runtime injects DATABRICKS_CLIENT_ID and ` +
            "DATABRICKS_CLIENT_SECRET (the app's service principal): remove DATABRICKS_TOKEN (a personal token) from " +
            'app.yaml / the app environment. On a laptop, unset DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET to ' +
            'use the token, or set DATABRICKS_AUTH_TYPE=pat or oauth-m2m to choose one.'
          : `${set.join(', ')} are all set: unset all but one of DATABRICKS_TOKEN, ` +
            'DATABRICKS_CLIENT_ID/DATABRICKS_CLIENT_SECRET and DATABRICKS_METADATA_SERVICE_URL, or set ' +
            'DATABRICKS_AUTH_TYPE to choose one.',
        details: { families: names },
      },
    );
  }
}

function buildCandidates(ws: WorkspaceConfig, host: string, deps: HttpDeps): WorkspaceTokenProvider[] {
  const now = () => deps.clock?.now() ?? Date.now();
  const wanted = (type: AuthType) => ws.authType === undefined || ws.authType === type;
  const out: WorkspaceTokenProvider[] = [];
  if (wanted('pat') && ws.token) out.push(patProvider(ws.token));
  if (wanted('oauth-m2m') && ws.clientId && ws.clientSecret)
    out.push(oauthM2mProvider(host, ws.clientId, ws.clientSecret, deps));
  // A configured PAT or M2M wins outright; the CLI and metadata service are fallbacks tried at first use.
  if (ws.authType === undefined && out.length > 0) return out;
  if (wanted('databricks-cli') && findDatabricksCli(ws)) out.push(databricksCliProvider(ws, now));
  if (wanted('metadata-service') && ws.metadataServiceUrl)
    out.push(metadataServiceProvider(host, ws.metadataServiceUrl, deps));
  return out;
}
