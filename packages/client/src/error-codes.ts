/**
 * Every error code the product answers with, in one list: the library's and the `lakebase` command's (carried by a
 * `LakebaseError`, scope `library`) and the app template's HTTP API (scope `app`). Each entry says what the code means,
 * what to do, and how the app's API answers it. `LakebaseErrorCode` derives from this list, so a code cannot be raised
 * without an entry; error-codes.test.ts checks the other way (every entry is raised somewhere and documented).
 * The emulator's `EMULATOR_*` codes are not here: they are the local test bed's, listed in its own README.
 */

/** How the app's HTTP API answers a code (`{"detail":{"error_code",...}}`, see app/README.md). */
export interface HttpAnswer {
  readonly status: number;
  /** `technical_details.error_type` of the body. */
  readonly errorType: string;
  /** A fixed message, where the body is a contract (`LAKEBASE_NOT_CONFIGURED`) or never names the input. */
  readonly message?: string;
  /** The app's suggestion, where it differs from the library's. */
  readonly suggestion?: string;
}

export interface ErrorCodeInfo {
  /** `library`: raised as a `LakebaseError` by the client or the CLI. `app`: only the app template's API answers it. */
  readonly scope: 'library' | 'app';
  /** What happened: the cause, or the message's template (`<key>` stands for the input it names). */
  readonly description: string;
  /** The default next step. A raiser may word a more specific one (naming the variable, the command, the key). */
  readonly suggestion: string;
  /**
   * How the app's API answers it when the caller caused it (their request, or in per-user mode their credential).
   * A library code without one, or one the server's own credential or pool raised, is relayed as
   * {@link RELAYED_LIBRARY_ERROR}: the server's database layer failed, which the caller cannot fix.
   */
  readonly http?: HttpAnswer;
}

/** How the app answers a library error of its own database layer: unavailable, with the error's code and message. */
export const RELAYED_LIBRARY_ERROR: HttpAnswer = { status: 503, errorType: 'LakebaseError' };

interface LibraryCode extends ErrorCodeInfo {
  readonly scope: 'library';
}

interface AppCode extends ErrorCodeInfo {
  readonly scope: 'app';
  readonly http: HttpAnswer;
}

const library = (description: string, suggestion: string, http?: HttpAnswer): LibraryCode =>
  http ? { scope: 'library', description, suggestion, http } : { scope: 'library', description, suggestion };

const app = (status: number, errorType: string, description: string, suggestion: string): AppCode => ({
  scope: 'app',
  description,
  suggestion,
  http: { status, errorType },
});

const CORRECT_THE_REQUEST = 'Correct the request and send it again.';
const invalid = (description: string): AppCode => app(400, 'ValidationError', description, CORRECT_THE_REQUEST);

/** The registry. Keys are the codes; stable: treat them as API. */
export const ERROR_CODES = {
  LAKEBASE_NOT_CONFIGURED: library(
    'No target: none of LAKEBASE_PG_URL, LAKEBASE_INSTANCE_NAME, LAKEBASE_ENDPOINT, or PGHOST and a database.',
    'Configure a Lakebase resource in databricks.yml, or set PGHOST and LAKEBASE_DATABASE / LAKEBASE_INSTANCE_NAME / ' +
      'LAKEBASE_ENDPOINT, or LAKEBASE_PG_URL.',
    // The original Python template's exact body: a contract (app/README.md, app/test/unconfigured.test.ts).
    {
      status: 503,
      errorType: 'ConfigurationError',
      message: 'User preferences are not available. Lakebase database is not configured for this deployment.',
      suggestion:
        'Configure Lakebase resource in databricks.yml or set PGHOST and LAKEBASE_DATABASE environment variables.',
    },
  ),
  LAKEBASE_CONFIG_INVALID: library(
    'Malformed or contradictory configuration (an option or environment variable).',
    'Fix the named variable; the message lists the valid values.',
  ),
  LAKEBASE_AUTH_NOT_CONFIGURED: library(
    'No workspace host, no credentials, or DATABRICKS_AUTH_TYPE without its attributes.',
    'Run `databricks auth login --host <workspace>`, or set DATABRICKS_TOKEN or DATABRICKS_CLIENT_ID and _SECRET.',
  ),
  LAKEBASE_AUTH_CONFLICT: library(
    'More than one auth method configured (e.g. DATABRICKS_TOKEN next to DATABRICKS_CLIENT_ID/SECRET).',
    'Unset all but one, or set DATABRICKS_AUTH_TYPE; in a Databricks App remove DATABRICKS_TOKEN.',
  ),
  LAKEBASE_AUTH_PROFILE_NOT_FOUND: library(
    'The configured profile is not in the config file, or the file cannot be read.',
    'Run `databricks auth login --profile <profile>`, or fix the file.',
  ),
  LAKEBASE_AUTH_FAILED: library(
    'The workspace rejected the credential, or getting one failed (M2M, the Databricks CLI, the metadata service).',
    'Re-authenticate; check the PAT or the service principal secret.',
    // Per-user mode: the user's own token was refused.
    { status: 401, errorType: 'PermissionError' },
  ),
  LAKEBASE_PERMISSION_DENIED: library(
    'The workspace (REST 403) or the database (SQLSTATE 42501) refused the identity.',
    'Ask for CAN_USE on the database, or add the database resource to the app.',
    // Per-user mode: the user's token lacks the postgres scope, or their role may not use the table.
    { status: 403, errorType: 'PermissionError' },
  ),
  LAKEBASE_RESOURCE_NOT_FOUND: library(
    'The instance, endpoint, branch or project does not exist (REST 404), or no instance has the configured host.',
    'Check LAKEBASE_INSTANCE_NAME / LAKEBASE_ENDPOINT / DATABRICKS_HOST.',
  ),
  LAKEBASE_INSTANCE_NOT_READY: library(
    'The instance or endpoint is not available yet (stopped, starting, no host; SQLSTATE 57P03).',
    'Start it, or wait a few minutes.',
  ),
  LAKEBASE_API_UNAVAILABLE: library('The workspace answered 429 or 5xx after bounded retries.', 'Retry later.'),
  LAKEBASE_API_UNREACHABLE: library(
    'Network error or timeout talking to the workspace.',
    'Check DATABRICKS_HOST, the proxy and the VPN.',
  ),
  LAKEBASE_API_ERROR: library(
    'Any other REST failure, or a response the client cannot use (no token, a malformed resource name).',
    'Check the parameters; the message has the workspace error.',
  ),
  LAKEBASE_CREDENTIAL_FAILED: library(
    'No usable database token is left and refreshing failed; the cause is the underlying error.',
    "Follow the cause's suggestion.",
  ),
  LAKEBASE_DNS_FAILED: library(
    'The host resolves neither by the system nor directly.',
    'Check PGHOST for typos, DNS and the VPN.',
  ),
  LAKEBASE_CONNECT_FAILED: library('The TCP connection failed.', 'Check the host, the port and the firewall.'),
  LAKEBASE_TLS_FAILED: library(
    'The TLS handshake or the certificate check failed.',
    'Set PGSSLROOTCERT, or connect to the host name on the certificate.',
  ),
  LAKEBASE_LOGIN_FAILED: library(
    'SQLSTATE 28P01: the token was refused for the role.',
    "PGUSER must be the token's identity; add the database resource to the app.",
  ),
  LAKEBASE_ROLE_NOT_FOUND: library(
    'SQLSTATE 28000: the role does not exist.',
    'Add the Lakebase resource to the app, or create the role (`databricks postgres create-role`).',
    // Per-user mode: the signed-in user has no PostgreSQL role.
    { status: 403, errorType: 'PermissionError' },
  ),
  LAKEBASE_DATABASE_NOT_FOUND: library('SQLSTATE 3D000: the database does not exist.', 'Check LAKEBASE_DATABASE.'),
  LAKEBASE_QUERY_FAILED: library('A query failed after login.', 'See the PostgreSQL message.', {
    status: 500,
    errorType: 'QueryError',
    message: 'The database could not complete the request.',
    suggestion: 'See the server log for details.',
  }),
  LAKEBASE_CLOSED: library(
    'A token was requested after the pool or manager was closed, or was awaited when it closed.',
    'Create a new pool.',
  ),
  LAKEBASE_RESOURCE_AMBIGUOUS: library(
    'Several instances or endpoints match and nothing says which.',
    'Pass --instance NAME or --endpoint PATH (the message lists the choices).',
  ),
  LAKEBASE_MIGRATION_FAILED: library(
    'A migration failed to apply or revert and was rolled back; the message names the file and line.',
    'Fix the SQL in the named file and run `lakebase migrate up` again.',
  ),
  LAKEBASE_COMMAND_NOT_FOUND: library(
    'A program the CLI runs (psql, the command given to `lakebase exec`) is not installed or not runnable.',
    'Install it (e.g. `apt-get install postgresql-client`) or fix PATH.',
  ),
  LAKEBASE_USAGE_ERROR: library(
    'The `lakebase` command got an unknown option or subcommand, a malformed value, or lacks a required option.',
    'Run the `--help` the error names.',
  ),
  LAKEBASE_IDENTITY_MISMATCH: library(
    'PGUSER / LAKEBASE_USERNAME is not the identity the token is for.',
    'Unset the variable so the token identity is used, or set it to the token identity.',
  ),
  LAKEBASE_TABLE_ACCESS_DENIED: library(
    'The connecting role cannot read and write some tables of the schema (owned by another role).',
    'As the named owner, run `lakebase grant --to <role>`.',
  ),
  LAKEBASE_BRANCH_EXISTS: library(
    'A branch with that name already exists (create without replace).',
    'Pick another name, delete it, or `lakebase branch reset` it.',
  ),
  LAKEBASE_BRANCH_PROTECTED: library(
    "The branch is protected or the project's default branch: it cannot be deleted or reset.",
    'Work on a development branch; remove the protection first if you mean it.',
  ),
  LAKEBASE_QUOTA_EXCEEDED: library(
    'The workspace refused for a quota (too many branches, endpoints or compute).',
    'Delete branches you no longer need, or ask for a higher limit.',
  ),
  LAKEBASE_OPERATION_FAILED: library(
    'A long-running operation finished with an error, or did not finish in time.',
    "See the operation's message; or wait longer.",
  ),
  LAKEBASE_ABORTED: library('The caller cancelled the wait (AbortSignal).', 'Check the resource before retrying.'),
  LAKEBASE_READ_POOL_WRITE: library(
    'A write went to the read pool (PostgreSQL answered 25006 read_only_sql_transaction).',
    'Send writes to the write pool.',
  ),
  LAKEBASE_READ_HOST_UNAVAILABLE: library(
    "The read host is not configured or cannot be reached, and the read pool's fallback is `fail`.",
    'Create a read-only endpoint, set LAKEBASE_READ_HOST, or allow the fallback to the primary.',
  ),
  LAKEBASE_POOLED_HOST_UNSUPPORTED: library(
    'Something transaction pooling cannot do (LISTEN, named prepared statements, migrations) on the pooled host.',
    'Use the transaction-scoped form, or a pool to the direct host.',
  ),
  LAKEBASE_PROXY_UNSAFE_ADDRESS: library(
    '`lakebase proxy` was asked to listen on an address other machines can reach, with no local password.',
    'Set --local-password (or LAKEBASE_PROXY_PASSWORD), or listen on 127.0.0.1 (the default).',
  ),
  LAKEBASE_PROXY_OPTION_CONFLICT: library(
    '`lakebase proxy --allow-user` with a local password: a client sends one password, which cannot be both.',
    'Drop --allow-user, or drop --local-password and keep the proxy on 127.0.0.1.',
  ),
  LAKEBASE_PORT_IN_USE: library(
    'The port `lakebase proxy` should listen on is taken (or the address is not one of this machine).',
    'Pick another port with --port, or stop what listens there.',
  ),
  LAKEBASE_ROLE_EXISTS: library(
    'Creating a role (`lakebase role create`) whose name is taken on the branch.',
    'Pick another name, or `lakebase role delete` the old role first.',
  ),
  LAKEBASE_UNEXPECTED_ERROR: library(
    'An error from below the library with no SQLSTATE, socket or TLS code it knows.',
    'Run `lakebase doctor`; if it passes, please report it.',
  ),
  LAKEBASE_GIT_BRANCH_UNKNOWN: library(
    '`lakebase checkout` without a branch could not read the current git branch (not a git repository, a detached HEAD, git missing or too slow).',
    'Run it inside a git work tree on a branch, or name the database branch: `lakebase checkout <branch>`.',
  ),

  // The app template's HTTP API (app/server). Statuses and error types are its contract; see app/README.md.
  LAKEBASE_UNAVAILABLE: app(
    503,
    'ConnectionError',
    'The Lakebase database is not reachable right now.',
    'Check GET /api/health and the server log; the database may be starting, stopped or unreachable.',
  ),
  LAKEBASE_SCHEMA_MISSING: app(
    503,
    'SchemaError',
    'The database has no user_preferences table yet.',
    'Apply the migrations with `lakebase migrate`, or start the server with MIGRATE_ON_START=true.',
  ),
  UNAUTHENTICATED: app(
    401,
    'AuthenticationError',
    'No user identity on this request.',
    'Open the app through its Databricks Apps URL: the Apps proxy signs you in and forwards X-Forwarded-Email.',
  ),
  USER_TOKEN_MISSING: app(
    401,
    'AuthenticationError',
    'Per-user mode, and the request carries no user token (X-Forwarded-Access-Token).',
    'Deploy the app with `user_api_scopes: [postgres]` so the Apps proxy forwards X-Forwarded-Access-Token; ' +
      'locally, send that header with a token from the emulator (see app/README.md, "Per-user mode").',
  ),
  IDENTITY_MISMATCH: app(
    403,
    'PermissionError',
    'The forwarded user token belongs to another user than X-Forwarded-Email.',
    'Send the token of the signed-in user (the Apps proxy does so itself).',
  ),
  PREFERENCE_NOT_FOUND: app(
    404,
    'NotFoundError',
    "You have no preference named '<key>'.",
    'List your preferences with GET /api/preferences.',
  ),
  PREFERENCE_EXISTS: app(
    412,
    'ConflictError',
    "The preference '<key>' already exists (If-None-Match: * creates only a new one).",
    'Read it (GET /api/preferences/<key>) and change it with If-Match set to its ETag, or pick another key.',
  ),
  PREFERENCE_CHANGED: app(
    412,
    'ConflictError',
    "The preference '<key>' was changed or deleted since you read it (If-Match does not match).",
    'Read it again (GET /api/preferences/<key>), apply your change to the value you get and send it with If-Match ' +
      'set to the new ETag.',
  ),
  VALIDATION_FAILED: invalid('The request (body, parameters or a header) is invalid; the message names the input.'),
  INVALID_KEY: invalid('The preference key is not 1-64 of A-Z a-z 0-9 _ . -, starting with a letter or digit.'),
  INVALID_JSON: invalid('The body is not valid JSON (or is empty).'),
  JSON_TOO_DEEP: invalid('The body is nested more than 64 levels of arrays and objects.'),
  VALUE_TOO_LARGE: invalid('The value is over 16 KiB as JSON, or the body is over the server limit.'),
  VALUE_NOT_STORABLE: invalid(
    'The value cannot be stored as jsonb unchanged (U+0000, an unpaired surrogate, a number beyond a double).',
  ),
  INVALID_IF_MATCH: invalid('If-Match is not * or a list of ETags in double quotes.'),
  INVALID_IF_NONE_MATCH: invalid('If-None-Match on a write is not *, or is sent together with If-Match.'),
  BAD_URL: invalid('The URL has a malformed percent-encoding.'),
  BAD_REQUEST: app(
    400,
    'RequestError',
    'The request is not valid HTTP (a control character in a header, no or two Host headers, ...).',
    CORRECT_THE_REQUEST,
  ),
  HEADERS_TOO_LARGE: app(
    431,
    'RequestError',
    'The request headers are too large.',
    'Send smaller headers (cookies included): at most 16 KiB in all.',
  ),
  REQUEST_TIMEOUT: app(408, 'RequestError', 'The request did not arrive in time.', 'Send the request again.'),
  UNSUPPORTED_MEDIA_TYPE: app(
    415,
    'ValidationError',
    'The body is not sent as application/json.',
    'Send Content-Type: application/json.',
  ),
  NOT_FOUND: app(404, 'NotFoundError', 'No route for <method> <path>.', 'See app/README.md for the API.'),
  INTERNAL_ERROR: app(500, 'InternalError', 'Internal server error.', 'See the server log for details.'),
} as const satisfies Record<string, ErrorCodeInfo>;

/** Every code of the product: the library's, the CLI's and the app's. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Every code a `LakebaseError` can carry (scope `library`). Stable: treat them as API. */
export type LakebaseErrorCode = {
  [K in ErrorCode]: (typeof ERROR_CODES)[K]['scope'] extends 'library' ? K : never;
}[ErrorCode];

/** The registry's entry for `code`, or undefined for a string that is not a code of the product. */
export function errorCodeInfo(code: string): ErrorCodeInfo | undefined {
  return Object.hasOwn(ERROR_CODES, code) ? ERROR_CODES[code as ErrorCode] : undefined;
}
