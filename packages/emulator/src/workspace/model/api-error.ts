import { randomBytes } from 'node:crypto';

/**
 * An error the REST API answers with the standard Databricks body `{error_code, message}`. `error_code` is a string
 * everywhere except the workspace's 401/403 authentication failures, which real workspaces send as numbers.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly statusCode: number,
    readonly errorCode: string | number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  /** The JSON body to send. */
  body(): { error_code: string | number; message: string } {
    return { error_code: this.errorCode, message: this.message };
  }
}

/** 400 INVALID_PARAMETER_VALUE. */
export const invalidParameter = (message: string) => new ApiError(400, 'INVALID_PARAMETER_VALUE', message);

/** 400 for a missing required field, in the wording Lakebase uses. */
export const requiredField = (field: string) =>
  invalidParameter(`Field '${field}' is required, expected non-default value (not "")!`);

/** 400 for an id that breaks its pattern, in the wording Lakebase uses. */
export const patternMismatch = (field: string, pattern: RegExp, value: string) =>
  invalidParameter(`Field ${field} must match pattern ${pattern.source}, got '${value}'.`);

/** 404 from the Autoscaling API: `NOT_FOUND "project not found; project_id:\"x\" [TraceId: ...]"`. */
export const postgresNotFound = (type: string, id: string) =>
  new ApiError(404, 'NOT_FOUND', `${type} not found; ${type}_id:"${id}" [TraceId: ${traceId()}]`);

/** 404 from the Provisioned API (exact upstream code unverified; clients should branch on the status). */
export const instanceNotFound = (name: string) =>
  new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `Database instance '${name}' does not exist.`);

/** A W3C-traceparent-looking id, as Databricks appends to Autoscaling errors. */
export function traceId(): string {
  return `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-00`;
}
