/**
 * The names of Lakebase resources, the one home of their grammar. Every project, branch, endpoint, database,
 * instance, role and operation name is parsed here once into a branded type, and the REST client
 * (workspace/api.ts) takes only those types: a name that could climb out of its URL path (`..`, `/`, `%2F`, `\`)
 * never reaches a request. Names the workspace returns go through the same parsers ({@link fromServer}) before they
 * are reused in a path, so a broken or malicious server cannot steer the next request either.
 */
import { createHash } from 'node:crypto';
import { LakebaseError } from '../errors.js';

declare const brand: unique symbol;
/** A string that a parser in this module has checked; only the parsers make one (by a cast). */
type Branded<Kind extends string> = string & { readonly [brand]: Kind };

/** An Autoscaling project id, e.g. `my-app`. */
export type ProjectId = Branded<'ProjectId'>;
/** An Autoscaling branch id, e.g. `dev-alice`. */
export type BranchId = Branded<'BranchId'>;
/** An Autoscaling endpoint id, e.g. `primary`. */
export type EndpointId = Branded<'EndpointId'>;
/** An Autoscaling database id (the REST resource, not the PostgreSQL database name). */
export type DatabaseId = Branded<'DatabaseId'>;
/** An Autoscaling role id (the REST resource `.../roles/<id>`, not the PostgreSQL role name). */
export type RoleId = Branded<'RoleId'>;
/** A Provisioned database instance name (a DNS label). */
export type InstanceName = Branded<'InstanceName'>;
/** A PostgreSQL role of a Databricks identity: an email, a service principal's UUID, or a group name. */
export type RoleName = Branded<'RoleName'>;
/** A table a scoped database token may read: `schema.table`. */
export type TableName = Branded<'TableName'>;
/** `projects/<p>`. */
export type ProjectName = Branded<'ProjectName'>;
/** `projects/<p>/branches/<b>`. */
export type BranchName = Branded<'BranchName'>;
/** `projects/<p>/branches/<b>/endpoints/<e>`. */
export type EndpointName = Branded<'EndpointName'>;
/** `<project, branch or endpoint name>/operations/<id>`: a long-running operation the workspace named. */
export type OperationName = Branded<'OperationName'>;
/** Any full Autoscaling name the REST client accepts as a path under `/api/2.0/postgres/`. */
export type ResourceName = ProjectName | BranchName | EndpointName | OperationName;

/** Autoscaling ids as the API validates them (pattern seen live): 1-63 chars, `[a-z0-9-]`, a letter first. */
export const RESOURCE_ID_PATTERN = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** Branch ids follow the Autoscaling id grammar. */
export const BRANCH_ID_PATTERN = RESOURCE_ID_PATTERN;
/**
 * Instance names are DNS labels (RFC 1123): letters, digits and '-', not at either end, at most 63. DNS is
 * case-insensitive, so case is left to the API rather than refused here on a guess.
 */
export const INSTANCE_NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;
/**
 * Whether `text` is an instance name. `lowercase: true` is the rule the Lakebase API itself applies when it creates
 * one (it refuses capitals); the emulator behaves as that server through this flag, not through a regex of its own.
 */
export function isInstanceName(text: string, options: { lowercase?: boolean } = {}): boolean {
  return INSTANCE_NAME_PATTERN.test(text) && (!options.lowercase || text === text.toLowerCase());
}
const ID = RESOURCE_ID_PATTERN.source.slice(1, -1);
export const ENDPOINT_PATH_PATTERN = new RegExp(`^projects/${ID}/branches/${ID}/endpoints/${ID}$`);
/** Operation ids are opaque (UUIDs today): word characters and '-', nothing that means anything in a path. */
const OPERATION_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
/** Longest role name we pass on (emails and group names; PostgreSQL itself keeps 63 bytes). */
const ROLE_NAME_MAX = 256;

/**
 * Why one segment of a URL path is unsafe, or undefined when it is fine. Used by every parser here and by the REST
 * client's path encoder, whoever calls it: empty, `.` and `..` segments, slashes and backslashes, `%` (already
 * encoded text, such as `%2F` or `%2e%2e`), control characters, slash lookalikes, and characters that normalise (NFKC)
 * to any of those.
 */
export function unsafeSegment(segment: string): string | undefined {
  if (segment === '') return 'it is empty';
  for (const form of new Set([segment, segment.normalize('NFKC')])) {
    if (form === '.' || form === '..') return `'${form}' is a relative path segment`;
    // Slashes, backslashes and the slash lookalikes NFKC keeps (fraction slash, division slash, big solidi).
    if (/[/\\\u2044\u2215\u29f8\u29f9]/.test(form)) return 'it contains a slash';
    if (form.includes('%')) return "it contains '%' (percent-encoded text)";
    // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
    if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(form)) return 'it contains a control character';
  }
  return undefined;
}

/** The `LAKEBASE_CONFIG_INVALID` error of a name that does not parse; the text is shown escaped and bounded. */
function refuse(what: string, text: string, source: string, rule: string, suggestion: string): LakebaseError {
  return new LakebaseError('LAKEBASE_CONFIG_INVALID', `Invalid ${what} ${shown(text)} (${source}): ${rule}`, {
    suggestion,
    details: { reason: 'invalid-resource-name', kind: what },
  });
}

/** `text` in single quotes for a message: control characters escaped, at most 120 characters. */
function shown(text: string): string {
  const bounded = text.length > 120 ? `${text.slice(0, 120)}…` : text;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: escaping control characters is the point
  return `'${bounded.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}'`;
}

function checkId<T extends string>(pattern: RegExp, what: string, example: string) {
  return (text: string, source: string = what): T => {
    if (typeof text === 'string' && pattern.test(text)) return text as T;
    throw refuse(
      what,
      String(text),
      source,
      "use 1-63 lowercase letters, digits and '-', starting with a letter and not ending with '-'.",
      `For example '${example}'.`,
    );
  };
}

export const parseProjectId = checkId<ProjectId>(RESOURCE_ID_PATTERN, 'project id', 'my-app');
export const parseBranchId = checkId<BranchId>(RESOURCE_ID_PATTERN, 'branch name', 'dev-alice');
export const parseEndpointId = checkId<EndpointId>(RESOURCE_ID_PATTERN, 'endpoint id', 'primary');
export const parseDatabaseId = checkId<DatabaseId>(RESOURCE_ID_PATTERN, 'database id', 'app-db');
export const parseRoleId = checkId<RoleId>(RESOURCE_ID_PATTERN, 'role id', 'reporting');

/** A Provisioned instance name; `source` names where it came from (a flag, a variable, a file). */
export function parseInstanceName(text: string, source = '--instance'): InstanceName {
  if (typeof text === 'string' && INSTANCE_NAME_PATTERN.test(text)) return text as InstanceName;
  const name = String(text);
  const fixed = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  const why = name.includes('_') ? "it contains '_'" : 'it is not a DNS label';
  throw refuse(
    'instance name',
    name,
    source,
    `${why}. Lakebase instance names are DNS labels: letters, digits and '-' (not first or last), at most 63 characters.`,
    fixed && fixed !== name
      ? `Did you mean '${fixed.slice(0, 63)}'? Check \`databricks database list-database-instances\`.`
      : 'Check `databricks database list-database-instances`.',
  );
}

/**
 * A role name. Roles are emails, service principal UUIDs or group names, so they are not `[a-z0-9-]`: accept what
 * Lakebase accepts, but never a slash, a `.`/`..` name, `%`, a control character, surrounding spaces or an empty name.
 * The REST client encodes a role as one path segment.
 */
export function parseRoleName(text: string, source = 'role'): RoleName {
  const name = String(text);
  const why =
    unsafeSegment(name) ??
    (name.trim() !== name ? 'it starts or ends with a space' : undefined) ??
    (name.length > ROLE_NAME_MAX ? `it is longer than ${ROLE_NAME_MAX} characters` : undefined);
  if (why === undefined) return name as RoleName;
  throw refuse(
    'role name',
    name,
    source,
    `${why}. A role is a user's email, a service principal's application id (UUID) or a group name.`,
    "For example 'jane@example.com' or '6f0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b'.",
  );
}

/**
 * `schema.table` for a table-scoped database token (`lakebase token --table`): two identifiers of 1-63 letters,
 * digits, `_` and `$`, a letter or `_` first (names that need quoting in SQL are not accepted here).
 */
export function parseTableName(text: string, source = '--table'): TableName {
  const name = String(text);
  if (/^[\p{L}_][\p{L}\p{N}_$]{0,62}\.[\p{L}_][\p{L}\p{N}_$]{0,62}$/u.test(name)) return name as TableName;
  throw refuse('table name', name, source, 'use schema.table, e.g. public.orders.', "For example 'public.orders'.");
}

/** The parts of a full Autoscaling name, each segment checked. */
interface ParsedPath {
  project: string;
  branch?: string;
  endpoint?: string;
  operation?: string;
}

function parsePath(text: string): ParsedPath | undefined {
  if (typeof text !== 'string') return undefined;
  const parts = text.split('/');
  const ok = (id: string | undefined) => id !== undefined && RESOURCE_ID_PATTERN.test(id);
  if (parts[0] !== 'projects' || !ok(parts[1])) return undefined;
  const out: ParsedPath = { project: parts[1] as string };
  let i = 2;
  if (parts[i] === 'branches') {
    if (!ok(parts[i + 1])) return undefined;
    out.branch = parts[i + 1];
    i += 2;
    if (parts[i] === 'endpoints') {
      if (!ok(parts[i + 1])) return undefined;
      out.endpoint = parts[i + 1];
      i += 2;
    }
  }
  if (parts[i] === 'operations') {
    const id = parts[i + 1];
    if (id === undefined || !OPERATION_ID_PATTERN.test(id)) return undefined;
    out.operation = id;
    i += 2;
  }
  return i === parts.length ? out : undefined;
}

/** `projects/<p>` from `<p>` or `projects/<p>`. */
export function parseProjectName(text: string, source = 'project'): ProjectName {
  if (typeof text === 'string' && RESOURCE_ID_PATTERN.test(text)) return `projects/${text}` as ProjectName;
  const parsed = parsePath(text);
  if (parsed && parsed.branch === undefined && parsed.operation === undefined) return text as ProjectName;
  throw refuse(
    'project',
    String(text),
    source,
    'expected projects/<project> or a project id.',
    "For example 'my-app'.",
  );
}

/** `projects/<p>/branches/<b>`, exactly. */
export function parseBranchName(text: string, source = 'branch'): BranchName {
  const parsed = parsePath(text);
  if (parsed?.branch !== undefined && parsed.endpoint === undefined && parsed.operation === undefined) {
    return text as BranchName;
  }
  throw refuse(
    'branch name',
    String(text),
    source,
    'expected projects/<project>/branches/<branch>.',
    "Use a branch id such as 'dev-alice', or a full name from `lakebase branch list --json`.",
  );
}

/** `projects/<p>/branches/<b>/endpoints/<e>`, exactly. */
export function parseEndpointName(text: string, source = '--endpoint'): EndpointName {
  if (typeof text === 'string' && ENDPOINT_PATH_PATTERN.test(text)) return text as EndpointName;
  throw new LakebaseError(
    'LAKEBASE_CONFIG_INVALID',
    `Malformed endpoint path ${shown(String(text))} (${source}); expected projects/<project>/branches/<branch>/endpoints/<endpoint>.`,
    {
      suggestion:
        'Copy the endpoint `name` from `databricks postgres list-endpoints projects/<project>/branches/<branch>`.',
      details: { reason: 'invalid-resource-name', kind: 'endpoint path' },
    },
  );
}

/** `<project, branch or endpoint name>/operations/<id>`. */
export function parseOperationName(text: string, source = 'operation'): OperationName {
  if (parsePath(text)?.operation !== undefined) return text as OperationName;
  throw refuse(
    'operation name',
    String(text),
    source,
    'expected projects/<project>[/branches/<branch>[/endpoints/<endpoint>]]/operations/<id>.',
    'Report this: the workspace named an operation outside the resource it works on.',
  );
}

/** The branch of `project` that `text` names: a branch id, or a full branch name inside that project. */
export function branchIn(project: ProjectName, text: string, source = 'branch'): BranchName {
  const name = typeof text === 'string' && text.includes('/') ? parseBranchName(text, source) : undefined;
  if (name === undefined) return `${project}/branches/${parseBranchId(text, source)}` as BranchName;
  if (projectOf(name) !== project) {
    throw refuse(
      'branch name',
      text,
      source,
      `it belongs to ${projectOf(name)}, not to ${project}.`,
      'Name a branch of the configured project (its id is enough, e.g. dev-alice).',
    );
  }
  return name;
}

/** The endpoint of `branch` that `text` names: an endpoint id, or a full endpoint name on that branch. */
export function endpointIn(branch: BranchName, text: string, source = 'endpoint'): EndpointName {
  const name = typeof text === 'string' && text.includes('/') ? parseEndpointName(text, source) : undefined;
  if (name === undefined) return `${branch}/endpoints/${parseEndpointId(text, source)}` as EndpointName;
  if (branchOf(name) !== branch) {
    throw refuse(
      'endpoint name',
      text,
      source,
      `it belongs to ${branchOf(name)}, not to ${branch}.`,
      'Name an endpoint of the configured branch (its id is enough, e.g. primary), or select the branch with --branch.',
    );
  }
  return name;
}

/** `projects/<p>` of any full name under it. */
export function projectOf(name: ResourceName): ProjectName {
  return name.split('/').slice(0, 2).join('/') as ProjectName;
}

/** `projects/<p>/branches/<b>` of an endpoint name. */
export function branchOf(endpoint: EndpointName): BranchName {
  return endpoint.split('/').slice(0, 4).join('/') as BranchName;
}

/** The last segment of a full name: a branch's id, an endpoint's id. */
export function idOf<T extends BranchName | EndpointName>(name: T): T extends BranchName ? BranchId : EndpointId {
  return name.split('/').at(-1) as T extends BranchName ? BranchId : EndpointId;
}

/**
 * A name the workspace returned, parsed before it is reused in a path. A name that does not parse is the server's
 * fault, not the user's: `LAKEBASE_API_ERROR` with `details.reason = 'invalid-resource-name'`.
 */
export function fromServer<T>(parse: (text: string, source?: string) => T, value: unknown, what: string): T {
  try {
    return parse(value as string, `returned by the workspace as ${what}`);
  } catch (error) {
    throw malformedFromServer(value, what, error);
  }
}

/** The `LAKEBASE_API_ERROR` of a name the workspace returned that cannot be used (see {@link fromServer}). */
export function malformedFromServer(value: unknown, what: string, cause?: unknown): LakebaseError {
  return new LakebaseError(
    'LAKEBASE_API_ERROR',
    `The workspace returned a malformed ${what}: ${shown(String(value))}.`,
    {
      suggestion:
        'Nothing was sent to that name. Check that DATABRICKS_HOST is the Databricks workspace (not a proxy that rewrites responses), and report it if it is.',
      details: { reason: 'invalid-resource-name', what },
      cause,
    },
  );
}

/** Throws `LAKEBASE_CONFIG_INVALID` with the likely intended name when `name` is not a valid instance name. */
export function validateInstanceName(name: string, source = '--instance'): InstanceName {
  return parseInstanceName(name, source);
}

/** Throws `LAKEBASE_CONFIG_INVALID` unless `path` is `projects/<p>/branches/<b>/endpoints/<e>`. */
export function validateEndpointPath(path: string, source = '--endpoint'): EndpointName {
  return parseEndpointName(path, source);
}

/** The longest resource id the grammar allows. */
const RESOURCE_ID_MAX = 63;

/**
 * A branch id derived from free text (a git branch, `<branch>-before-<migration>-<time>`), by one documented mapping:
 * lowercase; every run of characters other than `a-z` and `0-9` becomes one `-`; `-` trimmed from both ends; `git-`
 * (or `prefix`) put in front when the result starts with a digit; over 63 characters, the first 54 (without a
 * trailing `-`), `-` and the first 8 hex digits of the SHA-256 of the original text, so long names stay distinct and
 * the same text always maps to the same id. `feature/Add_Login` -> `feature-add-login`. Different texts can map to one
 * id (`Feature/X`, `feature-x`). Text with no letter or digit is `LAKEBASE_CONFIG_INVALID`.
 */
export function branchIdFrom(text: string, source = 'branch', prefix = 'git-'): BranchId {
  const words = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (words === '') {
    throw refuse('branch name', text, source, 'it has no letter or digit to make a branch id of.', 'Name the branch.');
  }
  const id = /^[a-z]/.test(words) ? words : `${prefix}${words}`;
  if (id.length <= RESOURCE_ID_MAX) return parseBranchId(id, source);
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 8);
  return parseBranchId(`${id.slice(0, RESOURCE_ID_MAX - 9).replace(/-+$/, '')}-${hash}`, source);
}
