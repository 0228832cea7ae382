/**
 * The workspace token providers: PAT, OAuth M2M (client credentials), the Databricks CLI (U2M, `databricks auth token`)
 * and the metadata service. Tokens with an expiry are cached and refreshed 40 s early, one request at a time.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import type { AuthType, WorkspaceConfig } from '../../config/resolve.js';
import { LakebaseError, redact, registerSecret } from '../../errors.js';
import { describeErrorBody, errorText, type HttpDeps, sendWithRetry } from '../http.js';

export interface WorkspaceTokenProvider {
  readonly name: AuthType;
  /** A bearer token for the workspace REST API. */
  getToken(): Promise<string>;
  /** Forget a cached token (after the workspace rejected it). */
  invalidate(): void;
}

interface ExpiringToken {
  token: string;
  /** Epoch ms; undefined = does not expire. */
  expiresAt: number | undefined;
}

const EARLY_REFRESH_MS = 40_000;

/** Caches a token until 40 s before it expires; concurrent callers share one fetch. */
class CachedToken {
  private current: ExpiringToken | undefined;
  private inflight: Promise<string> | undefined;
  constructor(
    private readonly fetchToken: () => Promise<ExpiringToken>,
    private readonly now: () => number,
  ) {}

  get(): Promise<string> {
    const current = this.current;
    if (current && (current.expiresAt === undefined || current.expiresAt - EARLY_REFRESH_MS > this.now())) {
      return Promise.resolve(current.token);
    }
    this.inflight ??= this.fetchToken()
      .then((fresh) => {
        registerSecret(fresh.token);
        this.current = fresh;
        return fresh.token;
      })
      .finally(() => {
        this.inflight = undefined;
      });
    return this.inflight;
  }

  invalidate(): void {
    this.current = undefined;
  }
}

export function patProvider(token: string): WorkspaceTokenProvider {
  return { name: 'pat', getToken: async () => token, invalidate: () => {} };
}

/** OAuth M2M: discover the token endpoint, then `POST` client credentials with Basic auth. */
export function oauthM2mProvider(
  host: string,
  clientId: string,
  clientSecret: string,
  deps: HttpDeps,
): WorkspaceTokenProvider {
  const now = () => deps.clock?.now() ?? Date.now();
  let tokenEndpoint: string | undefined;
  const discover = async (): Promise<string> => {
    if (tokenEndpoint) return tokenEndpoint;
    const fallback = `${host}/oidc/v1/token`;
    try {
      const res = await sendWithRetry(`${host}/oidc/.well-known/oauth-authorization-server`, { method: 'GET' }, deps);
      const endpoint = (res.json as { token_endpoint?: unknown } | undefined)?.token_endpoint;
      tokenEndpoint = res.status === 200 && typeof endpoint === 'string' ? endpoint : fallback;
    } catch {
      tokenEndpoint = fallback;
    }
    return tokenEndpoint;
  };
  const cache = new CachedToken(async () => {
    const url = await discover();
    const res = await sendWithRetry(
      url,
      {
        method: 'POST',
        headers: {
          Authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
          'Content-Type': 'application/x-www-form-urlencoded',
          Accept: 'application/json',
        },
        body: 'grant_type=client_credentials&scope=all-apis',
      },
      deps,
    );
    const body = res.json as { access_token?: unknown; expires_in?: unknown } | undefined;
    if (res.status !== 200 || typeof body?.access_token !== 'string') {
      const { errorCode, message } = describeErrorBody(res);
      throw new LakebaseError(
        'LAKEBASE_AUTH_FAILED',
        `OAuth M2M token request failed (HTTP ${res.status} ${errorCode ?? ''}): ${message}`,
        {
          suggestion:
            'Check DATABRICKS_CLIENT_ID / DATABRICKS_CLIENT_SECRET and that the service principal belongs to this workspace.',
          details: { status: res.status, errorCode, authType: 'oauth-m2m' },
          retryable: res.status >= 500 || res.status === 429,
        },
      );
    }
    const expiresIn = Number(body.expires_in ?? 3600);
    return { token: body.access_token, expiresAt: now() + (Number.isFinite(expiresIn) ? expiresIn : 3600) * 1000 };
  }, now);
  return { name: 'oauth-m2m', getToken: () => cache.get(), invalidate: () => cache.invalidate() };
}

/** Metadata service: `GET <url>` with the metadata version and host headers. */
export function metadataServiceProvider(host: string, url: string, deps: HttpDeps): WorkspaceTokenProvider {
  const now = () => deps.clock?.now() ?? Date.now();
  const cache = new CachedToken(async () => {
    const res = await sendWithRetry(
      url,
      { method: 'GET', headers: { 'X-Databricks-Metadata-Version': '1', 'X-Databricks-Host': host } },
      deps,
    );
    const body = res.json as { access_token?: unknown; expires_on?: unknown } | undefined;
    if (res.status !== 200 || typeof body?.access_token !== 'string') {
      const { message } = describeErrorBody(res);
      throw new LakebaseError(
        'LAKEBASE_AUTH_FAILED',
        `Metadata service token request failed (HTTP ${res.status}): ${message}`,
        {
          suggestion: 'Check DATABRICKS_METADATA_SERVICE_URL and DATABRICKS_HOST.',
          details: { status: res.status, authType: 'metadata-service' },
        },
      );
    }
    const expiresOn = Number(body.expires_on);
    return { token: body.access_token, expiresAt: Number.isFinite(expiresOn) ? expiresOn * 1000 : undefined };
  }, now);
  return { name: 'metadata-service', getToken: () => cache.get(), invalidate: () => cache.invalidate() };
}

/** Thrown by the CLI provider when it does not apply (no CLI, or OAuth not configured for the host). */
export class ProviderNotApplicable extends Error {}

/** Find the `databricks` executable: DATABRICKS_CLI_PATH, else the first on PATH. */
export function findDatabricksCli(ws: WorkspaceConfig): string | undefined {
  return ws.cliPath ? findExecutable(ws.cliPath, ['']) : findExecutable('databricks', ws.searchPath);
}

/** The first executable regular file `name` in the `searchPath` directories (see `searchPathOf`), or undefined. */
export function findExecutable(name: string, searchPath: readonly string[]): string | undefined {
  for (const dir of searchPath) {
    const file = path.join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      if (statSync(file).isFile()) return file;
    } catch {
      // not there
    }
  }
  return undefined;
}

/** U2M through the Databricks CLI: runs `databricks auth token --profile <p>` (or `--host <host>`). */
export function databricksCliProvider(ws: WorkspaceConfig, now: () => number = Date.now): WorkspaceTokenProvider {
  const cache = new CachedToken(async () => {
    const cli = findDatabricksCli(ws);
    if (!cli) throw new ProviderNotApplicable('databricks CLI not found');
    const args = [
      'auth',
      'token',
      ...(ws.profile ? ['--profile', ws.profile] : ['--host', ws.host ?? '']),
      '--output',
      'json',
    ];
    const { stdout, stderr, error } = await run(cli, args);
    if (error) {
      if (stderr.includes('databricks OAuth is not')) throw new ProviderNotApplicable(redact(stderr.trim()));
      throw new LakebaseError(
        'LAKEBASE_AUTH_FAILED',
        `\`databricks auth token\` failed: ${redact(stderr.trim() || errorText(error))}`,
        {
          suggestion: `Run \`databricks auth login --host ${ws.host ?? '<workspace-url>'}\` and try again.`,
          details: { authType: 'databricks-cli' },
        },
      );
    }
    let parsed: { access_token?: unknown; expiry?: unknown; expires_in?: unknown };
    try {
      parsed = JSON.parse(stdout) as typeof parsed;
    } catch (cause) {
      throw new LakebaseError('LAKEBASE_AUTH_FAILED', '`databricks auth token` printed something that is not JSON.', {
        suggestion: 'Upgrade the Databricks CLI (>= 0.207.1).',
        cause,
        details: { authType: 'databricks-cli' },
      });
    }
    if (typeof parsed.access_token !== 'string') {
      throw new LakebaseError('LAKEBASE_AUTH_FAILED', '`databricks auth token` returned no access_token.', {
        suggestion: 'Run `databricks auth login` again.',
        details: { authType: 'databricks-cli' },
      });
    }
    const expiry = typeof parsed.expiry === 'string' ? Date.parse(parsed.expiry) : Number.NaN;
    const expiresIn = Number(parsed.expires_in);
    const expiresAt = Number.isFinite(expiry)
      ? expiry
      : Number.isFinite(expiresIn)
        ? now() + expiresIn * 1000
        : now() + 300_000;
    return { token: parsed.access_token, expiresAt };
  }, now);
  return { name: 'databricks-cli', getToken: () => cache.get(), invalidate: () => cache.invalidate() };
}

function run(file: string, args: string[]): Promise<{ stdout: string; stderr: string; error: Error | null }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 30_000, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      resolve({ stdout: String(stdout), stderr: String(stderr), error });
    });
  });
}
