/**
 * What create-app refuses, each with a stable code and what to do instead. Kept here rather than in the client's error
 * registry so that `npm create @lakebase-kit/app` installs nothing but this package (no pg, no client) before it runs.
 */
export const CREATE_APP_ERRORS = {
  CREATE_APP_USAGE: 'Run `npm create @lakebase-kit/app@latest -- --help` for the options.',
  CREATE_APP_NAME_MISSING: 'Give the project a name: `npm create @lakebase-kit/app@latest my-app`.',
  CREATE_APP_NAME_INVALID:
    'Use a valid npm package name: lower case letters, digits, "-", "." and "_", at most 214 characters, not starting with "." or "_" (a scope, @scope/name, is allowed).',
  CREATE_APP_TARGET_NOT_EMPTY: 'Choose a new directory name, or empty or remove the existing directory first.',
  CREATE_APP_TEMPLATE_UNKNOWN: 'Choose one of the templates listed by --help (app, api-only).',
  CREATE_APP_TEMPLATE_MISSING: 'Reinstall @lakebase-kit/create-app: this copy of the package has no template files.',
  CREATE_APP_STEP_FAILED:
    'See the output above; fix the cause and run the same command again (nothing was left behind).',
  CREATE_APP_INTERRUPTED: 'Run the same command again when ready (nothing was left behind).',
} as const;

export type CreateAppErrorCode = keyof typeof CREATE_APP_ERRORS;

export class CreateAppError extends Error {
  readonly code: CreateAppErrorCode;
  readonly suggestion: string;

  constructor(code: CreateAppErrorCode, message: string, options?: { cause?: unknown; suggestion?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CreateAppError';
    this.code = code;
    this.suggestion = options?.suggestion ?? CREATE_APP_ERRORS[code];
  }
}
