/**
 * The one error body of the API, kept from the original Python template so clients written for it keep working:
 * `{"detail":{"error_code","message","technical_details":{"error_type","suggestion"}}}`. Bodies never carry a stack
 * trace, SQL text, parameters or a credential.
 */

export interface ErrorBody {
  detail: {
    error_code: string;
    message: string;
    technical_details: {
      error_type: string;
      suggestion: string;
      /** For validation errors: the input that is wrong (`key`, `value`, `body`). */
      field?: string;
    };
  };
}

/** An error the API reports as-is. Everything else is mapped by {@link toAppError} first. */
export class AppError extends Error {
  override readonly name = 'AppError';

  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly errorType: string,
    readonly suggestion: string,
    readonly field?: string,
  ) {
    super(message);
  }

  toBody(): ErrorBody {
    const technical: ErrorBody['detail']['technical_details'] = {
      error_type: this.errorType,
      suggestion: this.suggestion,
    };
    if (this.field !== undefined) technical.field = this.field;
    return { detail: { error_code: this.code, message: this.message, technical_details: technical } };
  }
}

/** The exact 503 of the original template when no Lakebase database is configured. */
export function notConfiguredError(): AppError {
  return new AppError(
    503,
    'LAKEBASE_NOT_CONFIGURED',
    'User preferences are not available. Lakebase database is not configured for this deployment.',
    'ConfigurationError',
    'Configure Lakebase resource in databricks.yml or set PGHOST and LAKEBASE_DATABASE environment variables.',
  );
}

export function validationError(field: string, message: string, code = 'VALIDATION_FAILED'): AppError {
  return new AppError(400, code, message, 'ValidationError', 'Correct the request and send it again.', field);
}

/** SQLSTATE classes and Node error codes that mean "the database cannot be reached or refused us", not "bad query". */
const UNAVAILABLE_SQLSTATE = /^(08|28|53|57P)/;
const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);
const CONNECTION_MESSAGES = /connection terminated|timeout exceeded when trying to connect|connection timeout/i;

/**
 * Map a failure from the database layer to an API error. `LakebaseError`s from the client keep their own code,
 * message and suggestion (already redacted by the client); raw network and pg errors get a fixed, secret-free text.
 * The original error belongs in the server log, not in the response.
 */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const lakebase = findInChain(error, isLakebaseErrorLike);
  if (lakebase) {
    if (lakebase.code === 'LAKEBASE_NOT_CONFIGURED') return notConfiguredError();
    return new AppError(
      503,
      lakebase.code,
      lakebase.message,
      'LakebaseError',
      lakebase.suggestion ?? 'Call GET /api/health or run `lakebase doctor` to see which step fails.',
    );
  }
  const code = findInChain(error, hasCode)?.code;
  if (code === '42P01') {
    return new AppError(
      503,
      'LAKEBASE_SCHEMA_MISSING',
      'The database has no user_preferences table yet.',
      'SchemaError',
      'Apply the migrations with `lakebase migrate`, or start the server with MIGRATE_ON_START=true.',
    );
  }
  const message = findInChain(error, (e): e is Error => e instanceof Error && CONNECTION_MESSAGES.test(e.message));
  if ((code && (UNAVAILABLE_SQLSTATE.test(code) || NETWORK_ERROR_CODES.has(code))) || message) {
    return new AppError(
      503,
      'LAKEBASE_UNAVAILABLE',
      'The Lakebase database is not reachable right now.',
      'ConnectionError',
      'Check GET /api/health and the server log; the database may be starting, stopped or unreachable.',
    );
  }
  return new AppError(
    500,
    'LAKEBASE_QUERY_FAILED',
    'The database could not complete the request.',
    'QueryError',
    'See the server log for details.',
  );
}

interface LakebaseErrorLike {
  code: string;
  message: string;
  suggestion?: string;
}

/** Duck-typed so a second copy of the client package (or its absence in tests) cannot break the check. */
function isLakebaseErrorLike(value: unknown): value is LakebaseErrorLike {
  return (
    value instanceof Error && value.name === 'LakebaseError' && typeof (value as { code?: unknown }).code === 'string'
  );
}

function hasCode(value: unknown): value is { code: string } {
  return typeof value === 'object' && value !== null && typeof (value as { code?: unknown }).code === 'string';
}

/** Drizzle wraps driver errors (`DrizzleQueryError`, whose message holds the SQL and parameters): look through causes. */
export function findInChain<T>(error: unknown, match: (value: unknown) => value is T): T | undefined {
  let current = error;
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    if (match(current)) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
