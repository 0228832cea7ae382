/**
 * Reads the Lakebase resources a Databricks Asset Bundle (`databricks.yml`) declares for a target, without the
 * Databricks CLI: Provisioned `database_instances` (plus `database_catalogs` for the database name), Autoscaling
 * `postgres_projects` / `postgres_branches` / `postgres_databases`, and the `database` / `postgres` resources of
 * `apps`. Target overrides are merged over the top-level resources, and `${var.*}`, `${bundle.*}` and
 * `${resources.*}` references are resolved the way the CLI does for the simple cases templates use.
 */
import path from 'node:path';
import { parse } from 'yaml';
import { LakebaseError } from '../errors.js';
import { readEnvText } from './env-file.js';

/** A Lakebase resource a bundle points at. Autoscaling ones name a project (and maybe a branch), not an endpoint. */
export type BundleResource =
  | { tier: 'provisioned'; instanceName: string; database: string | undefined; source: string }
  | {
      tier: 'autoscaling';
      project: string;
      branch: string | undefined;
      database: string | undefined;
      source: string;
    };

export interface BundleResources {
  file: string;
  /** The target whose resources were read (`--target`, else the one marked `default: true`, else none). */
  target: string | undefined;
  resources: BundleResource[];
  /** References that could not be resolved locally (e.g. `${workspace.current_user.short_name}`). */
  unresolved: string[];
}

type Doc = Record<string, unknown>;

const isObject = (value: unknown): value is Doc => typeof value === 'object' && value !== null && !Array.isArray(value);

/** `dir/databricks.yml` (or `.yaml`) read for `target`; `undefined` when there is no bundle file. */
export async function readBundleResources(dir: string, target?: string): Promise<BundleResources | undefined> {
  for (const name of ['databricks.yml', 'databricks.yaml']) {
    const file = path.join(dir, name);
    const text = await readEnvText(file);
    if (text === undefined) continue;
    let doc: unknown;
    try {
      doc = parse(text);
    } catch (error) {
      throw new LakebaseError('LAKEBASE_CONFIG_INVALID', `${name} is not valid YAML: ${(error as Error).message}`, {
        suggestion: `Fix ${name} (\`databricks bundle validate\` shows the problem), or pass --instance / --endpoint.`,
        cause: error,
      });
    }
    return bundleResourcesOf(isObject(doc) ? doc : {}, file, target);
  }
  return undefined;
}

/** The Lakebase resources of a parsed bundle document for `target`. Exported for tests. */
export function bundleResourcesOf(doc: Doc, file: string, requestedTarget?: string): BundleResources {
  const targets = isObject(doc.targets) ? doc.targets : {};
  const target = requestedTarget ?? Object.entries(targets).find(([, t]) => isObject(t) && t.default === true)?.[0];
  if (requestedTarget !== undefined && !isObject(targets[requestedTarget])) {
    const names = Object.keys(targets);
    throw new LakebaseError('LAKEBASE_CONFIG_INVALID', `Target '${requestedTarget}' is not defined in ${file}.`, {
      suggestion: names.length ? `Use one of: ${names.join(', ')}.` : 'Remove --target: the bundle has no targets.',
    });
  }
  const targetDoc = target !== undefined && isObject(targets[target]) ? (targets[target] as Doc) : {};
  const merged: Doc = {
    bundle: { ...(isObject(doc.bundle) ? doc.bundle : {}), target },
    variables: variablesOf(doc, targetDoc),
    resources: deepMerge(isObject(doc.resources) ? doc.resources : {}, targetDoc.resources),
  };
  const unresolved = new Set<string>();
  const text = (value: unknown): string | undefined => {
    if (typeof value !== 'string' || value === '') return undefined;
    const resolved = interpolate(value, merged, unresolved);
    return resolved.includes('${') ? undefined : resolved;
  };

  const resources = merged.resources as Doc;
  const section = (name: string): Doc[] =>
    isObject(resources[name]) ? Object.values(resources[name] as Doc).filter(isObject) : [];
  const out: BundleResource[] = [];
  const add = (resource: BundleResource) => {
    const key = resource.tier === 'provisioned' ? resource.instanceName : resource.project;
    const existing = out.find((r) => (r.tier === 'provisioned' ? r.instanceName : r.project) === key);
    if (!existing) return void out.push(resource);
    existing.database ??= resource.database;
    if (existing.tier === 'autoscaling' && resource.tier === 'autoscaling') existing.branch ??= resource.branch;
  };
  const source = path.basename(file) + (target ? ` (target ${target})` : '');

  // App resources first: they say which database the app actually uses.
  const postgresDatabases = section('postgres_databases');
  for (const app of section('apps')) {
    for (const entry of Array.isArray(app.resources) ? app.resources.filter(isObject) : []) {
      if (isObject(entry.database)) {
        const instanceName = text(entry.database.instance_name);
        if (instanceName)
          add({ tier: 'provisioned', instanceName, database: text(entry.database.database_name), source });
      }
      if (isObject(entry.postgres)) {
        const branch = text(entry.postgres.branch);
        const project = branch?.match(/^projects\/[^/]+/)?.[0];
        const databaseId = text(entry.postgres.database)?.split('/').at(-1);
        const database = postgresDatabases.find((d) => text(d.database_id) === databaseId);
        if (project) {
          add({ tier: 'autoscaling', project, branch, database: text(database?.postgres_database), source });
        }
      }
    }
  }
  for (const instance of section('database_instances')) {
    const instanceName = text(instance.name);
    if (!instanceName) continue;
    const catalog = section('database_catalogs').find((c) => text(c.database_instance_name) === instanceName);
    add({ tier: 'provisioned', instanceName, database: text(catalog?.database_name), source });
  }
  for (const project of section('postgres_projects')) {
    const id = text(project.project_id);
    if (!id) continue;
    const branch = section('postgres_branches').find((b) => text(b.parent) === `projects/${id}`);
    const branchId = text(branch?.branch_id);
    add({
      tier: 'autoscaling',
      project: `projects/${id}`,
      branch: branchId ? `projects/${id}/branches/${branchId}` : undefined,
      database: text(postgresDatabases[0]?.postgres_database),
      source,
    });
  }
  return { file, target, resources: out, unresolved: [...unresolved] };
}

/** Variable values: target `variables` override each variable's `default`. */
function variablesOf(doc: Doc, targetDoc: Doc): Doc {
  const out: Doc = {};
  for (const [name, spec] of Object.entries(isObject(doc.variables) ? doc.variables : {})) {
    out[name] = isObject(spec) ? spec.default : spec;
  }
  for (const [name, value] of Object.entries(isObject(targetDoc.variables) ? targetDoc.variables : {})) {
    out[name] = isObject(value) ? value.default : value;
  }
  return out;
}

/** Objects merge key by key (the override wins); anything else is replaced. */
function deepMerge(base: Doc, override: unknown): Doc {
  if (!isObject(override)) return base;
  const out: Doc = { ...base };
  for (const [key, value] of Object.entries(override)) {
    out[key] = isObject(value) && isObject(out[key]) ? deepMerge(out[key] as Doc, value) : value;
  }
  return out;
}

/** Resolve `${var.x}`, `${bundle.target}`, `${resources.kind.key.field}`; unknown references are recorded. */
function interpolate(value: string, doc: Doc, unresolved: Set<string>, depth = 0): string {
  return value.replace(/\$\{([^}]+)\}/g, (whole, reference: string) => {
    const parts = reference.trim().split('.');
    const root = parts[0] === 'var' ? doc.variables : doc[parts[0] as string];
    let found: unknown = root;
    for (const part of parts.slice(1)) found = isObject(found) ? found[part] : undefined;
    if ((typeof found === 'string' || typeof found === 'number') && depth < 10) {
      return interpolate(String(found), doc, unresolved, depth + 1);
    }
    unresolved.add(whole);
    return whole;
  });
}
