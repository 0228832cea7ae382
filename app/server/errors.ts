import {
  classifyConnectionFailure,
  type ErrorCode,
  errorCodeInfo,
  RELAYED_LIBRARY_ERROR,
} from '@lakebase-kit/client/toolkit';

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

export interface AppErrorOptions {
  /** The input that is wrong (`key`, `value`, `body`, a header name). */
  field?: string;
  /** A suggestion naming the input (the key, the route); default: the registry's. */
  suggestion?: string;
  /** Only where the status is the request's own (a Fastify 4xx passed on); default: the registry's. */
  status?: number;
  /** Only for a relayed library error; default: the registry's. */
  errorType?: string;
}

/**
 * An error the API reports as-is. Everything else is mapped by {@link toAppError} first. Its status, error type and
 * default suggestion come from the product's error registry (`ERROR_CODES` in `@lakebase-kit/client/toolkit`), so a
 * code has one status wherever it is raised; the body's shape is this class's.
 */
export class AppError extends Error {
  override readonly name = 'AppError';
  readonly statusCode: number;
  readonly errorType: string;
  readonly suggestion: string;
  readonly field: string | undefined;

  /** Without a message, the registry's fixed one (`LAKEBASE_NOT_CONFIGURED`'s body) or its description. */
  constructor(
    readonly code: ErrorCode,
    message?: string,
    options: AppErrorOptions = {},
  ) {
    const info = errorCodeInfo(code);
    const http = info?.http ?? RELAYED_LIBRARY_ERROR;
    super(message ?? http.message ?? info?.description ?? code);
    this.statusCode = options.status ?? http.status;
    this.errorType = options.errorType ?? http.errorType;
    this.suggestion = options.suggestion ?? http.suggestion ?? info?.suggestion ?? '';
    this.field = options.field;
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

/** The exact 503 of the original template when no Lakebase database is configured (the registry holds its body). */
export function notConfiguredError(): AppError {
  return new AppError('LAKEBASE_NOT_CONFIGURED');
}

/** A 400 about one input; `code` names what is wrong with it (default `VALIDATION_FAILED`). */
export function validationError(field: string, message: string, code: ErrorCode = 'VALIDATION_FAILED'): AppError {
  return new AppError(code, message, { field });
}

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
    // The server's own database layer failed: relayed as unavailable whatever the code's per-user status. The code
    // is the client's (a newer client may carry one this registry does not list yet; it is passed on as is).
    return new AppError(lakebase.code as ErrorCode, lakebase.message, {
      status: RELAYED_LIBRARY_ERROR.status,
      errorType: RELAYED_LIBRARY_ERROR.errorType,
      suggestion: lakebase.suggestion ?? 'Call GET /api/health or run `lakebase doctor` to see which step fails.',
    });
  }
  const code = findInChain(error, hasCode)?.code;
  if (code === '42P01') {
    return new AppError('LAKEBASE_SCHEMA_MISSING', 'The database has no user_preferences table yet.');
  }
  // The kit's one classification: SQLSTATE classes 08, 28, 53, 57P and the socket codes mean "cannot reach it".
  if (classifyConnectionFailure(error)) {
    return new AppError('LAKEBASE_UNAVAILABLE', 'The Lakebase database is not reachable right now.');
  }
  return new AppError('LAKEBASE_QUERY_FAILED');
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
