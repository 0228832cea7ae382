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

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'NETWORK_ERROR', 'The server cannot be reached.', 'Check that the app server is running.');
  }
  if (response.status === 204) return undefined as T;
  const payload: unknown = await response.json().catch(() => undefined);
  if (response.ok) return payload as T;
  const detail = (payload as ErrorBody | undefined)?.detail;
  throw new ApiError(
    response.status,
    detail?.error_code ?? `HTTP_${response.status}`,
    detail?.message ?? response.statusText,
    detail?.technical_details?.suggestion,
    detail?.technical_details?.field,
  );
}

export const api = {
  me: () => request<Me>('GET', '/api/me'),
  /** Health answers 503 with a body when the database is down; that body is still the status to show. */
  health: async (): Promise<Health> => {
    const response = await fetch('/api/health');
    return (await response.json()) as Health;
  },
  listPreferences: async () => (await request<{ preferences: Preference[] }>('GET', '/api/preferences')).preferences,
  savePreference: (key: string, value: unknown) =>
    request<Preference>('PUT', `/api/preferences/${encodeURIComponent(key)}`, { value }),
  deletePreference: (key: string) => request<void>('DELETE', `/api/preferences/${encodeURIComponent(key)}`),
};
