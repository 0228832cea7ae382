/** Typed calls to the server's API. Every failure is an {@link ApiError} built from the server's error body. */

export interface Preference {
  key: string;
  value: unknown;
  createdAt: string;
  updatedAt: string;
}

export interface Me {
  email: string;
  userName?: string;
  source: 'proxy' | 'dev-user';
  databaseUser?: string;
}

export interface Health {
  status: 'ok' | 'unavailable';
  process: { uptimeSeconds: number; node: string; production: boolean };
  database: {
    configured: boolean;
    reachable: boolean;
    latencyMs?: number;
    info?: {
      tier: string;
      instanceName?: string;
      endpoint?: string;
      host?: string;
      database: string;
      user?: string;
      emulator?: boolean;
    };
    tokenExpiresAt?: string;
    pool?: { total: number; idle: number; waiting: number; max: number };
    error?: { error_code: string; message: string; suggestion: string };
  };
}

/** The server's error body (the original template's shape). */
interface ErrorBody {
  detail?: {
    error_code?: string;
    message?: string;
    technical_details?: { error_type?: string; suggestion?: string; field?: string };
  };
}

/** An error the server reported (`detail.error_code` ...) or a network failure (`code` NETWORK_ERROR). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly suggestion?: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** A preference with its `ETag`, to send back as `If-Match` so a write cannot overwrite a change it has not seen. */
export interface VersionedPreference {
  preference: Preference;
  etag: string | undefined;
}

async function send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'NETWORK_ERROR', 'The server cannot be reached.', 'Check that the app server is running.');
  }
  if (response.status === 204) return { response, payload: undefined };
  const payload: unknown = await response.json().catch(() => undefined);
  if (response.ok) return { response, payload };
  const detail = (payload as ErrorBody | undefined)?.detail;
  throw new ApiError(
    response.status,
    detail?.error_code ?? `HTTP_${response.status}`,
    detail?.message ?? response.statusText,
    detail?.technical_details?.suggestion,
    detail?.technical_details?.field,
  );
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  return (await send(method, path, body)).payload as T;
}

async function versioned(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<VersionedPreference> {
  const { response, payload } = await send(method, path, body, headers);
  return { preference: payload as Preference, etag: response.headers.get('etag') ?? undefined };
}

const preferencePath = (key: string) => `/api/preferences/${encodeURIComponent(key)}`;

export const api = {
  me: () => request<Me>('GET', '/api/me'),
  /** Health answers 503 with a body when the database is down; that body is still the status to show. */
  health: async (): Promise<Health> => {
    const response = await fetch('/api/health');
    return (await response.json()) as Health;
  },
  listPreferences: async () => (await request<{ preferences: Preference[] }>('GET', '/api/preferences')).preferences,
  getPreference: (key: string) => versioned('GET', preferencePath(key)),
  /** With `etag`: only if the preference still has that version, else ApiError 412 `PREFERENCE_CHANGED`. */
  savePreference: (key: string, value: unknown, etag?: string) =>
    versioned('PUT', preferencePath(key), { value }, etag ? { 'if-match': etag } : {}),
  /** Only if the key is new (`If-None-Match: *`), else ApiError 412 `PREFERENCE_EXISTS`: an add never replaces. */
  createPreference: (key: string, value: unknown) =>
    versioned('PUT', preferencePath(key), { value }, { 'if-none-match': '*' }),
  /** With `etag`: only if the preference still has that version, else ApiError 412 `PREFERENCE_CHANGED`. */
  deletePreference: async (key: string, etag?: string): Promise<void> => {
    await send('DELETE', preferencePath(key), undefined, etag ? { 'if-match': etag } : {});
  },
};
