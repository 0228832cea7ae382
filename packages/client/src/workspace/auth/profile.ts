/**
 * `~/.databrickscfg` profiles, resolved as the Python and Go SDKs do:
 * 1. an explicit profile (option or DATABRICKS_CONFIG_PROFILE) must exist;
 * 2. otherwise `[__settings__] default_profile`;
 * 3. otherwise `[DEFAULT]` if it has keys.
 * The file is not read at all when no profile is explicit and a host or auth attribute is already set, and values
 * already set are never overwritten by the file.
 */
import { readFileSync } from 'node:fs';
import { normalizeDatabricksHost } from '../../config/databricks-host.js';
import { checkAuthType, defineSecret, type WorkspaceConfig } from '../../config/resolve.js';
import { LakebaseError } from '../../errors.js';

export type IniSections = Map<string, Map<string, string>>;

/** Parse INI text: `[section]` headers, `key = value` lines, `;`/`#` comments. Keys are lower-cased. */
export function parseIni(text: string): IniSections {
  const sections: IniSections = new Map();
  let current: Map<string, string> | undefined;
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (!line || line.startsWith(';') || line.startsWith('#')) continue;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header?.[1] !== undefined) {
      const name = header[1].trim();
      current = sections.get(name) ?? new Map();
      sections.set(name, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0 || !current) continue;
    const key = line.slice(0, eq).trim().toLowerCase();
    const value = line
      .slice(eq + 1)
      .replace(/\s[;#].*$/, '')
      .trim();
    current.set(key, value);
  }
  return sections;
}

/** True when a host or any auth attribute is already set, in which case an implicit profile is not loaded. */
function hasAnyAuthAttribute(ws: WorkspaceConfig): boolean {
  return Boolean(ws.host || ws.token || ws.clientId || ws.clientSecret || ws.metadataServiceUrl || ws.authType);
}

/**
 * Return a copy of `ws` with unset fields filled from the selected profile, plus the profile name used (if any).
 * @throws LakebaseError `LAKEBASE_AUTH_PROFILE_NOT_FOUND` when an explicit profile (or file) does not exist.
 */
export function applyProfile(ws: WorkspaceConfig): WorkspaceConfig {
  const explicit = ws.profile !== undefined;
  if (!explicit && hasAnyAuthAttribute(ws)) return ws;
  let text: string;
  try {
    text = readFileSync(ws.configFile, 'utf8');
  } catch (cause) {
    if (explicit || ws.configFileExplicit) {
      throw new LakebaseError('LAKEBASE_AUTH_PROFILE_NOT_FOUND', `resolve: cannot read ${ws.configFile}.`, {
        suggestion: 'Run `databricks auth login` to create it, or fix DATABRICKS_CONFIG_FILE.',
        cause,
      });
    }
    return ws;
  }
  const sections = parseIni(text);
  const name = ws.profile ?? sections.get('__settings__')?.get('default_profile') ?? 'DEFAULT';
  const section = name === '__settings__' ? undefined : sections.get(name);
  if (!section || section.size === 0) {
    if (explicit) {
      throw new LakebaseError(
        'LAKEBASE_AUTH_PROFILE_NOT_FOUND',
        `resolve: ${ws.configFile} has no ${name} profile configured`,
        {
          suggestion: `Run \`databricks auth login --profile ${name}\`, or pick a profile listed by \`databricks auth profiles\`.`,
        },
      );
    }
    if (name !== 'DEFAULT') {
      throw new LakebaseError(
        'LAKEBASE_AUTH_PROFILE_NOT_FOUND',
        `resolve: ${ws.configFile} names default_profile ${name}, which is not configured`,
        { suggestion: `Fix [__settings__] default_profile in ${ws.configFile}.` },
      );
    }
    return ws;
  }
  const merged: WorkspaceConfig = { ...ws, profile: name };
  const get = (key: string) => {
    const value = section.get(key);
    return value ? value : undefined;
  };
  const host = get('host');
  merged.host = ws.host ?? (host === undefined ? undefined : normalizeDatabricksHost(host, `host in profile ${name}`));
  merged.clientId = ws.clientId ?? get('client_id');
  const authType = get('auth_type');
  merged.authType =
    ws.authType ??
    (authType === undefined ? undefined : checkAuthType(authType, `auth_type of [${name}] in ${ws.configFile}`));
  merged.cliPath = ws.cliPath ?? get('databricks_cli_path');
  merged.metadataServiceUrl = ws.metadataServiceUrl ?? get('metadata_service_url');
  merged.workspaceId = ws.workspaceId ?? get('workspace_id');
  const token = ws.token ?? get('token');
  const clientSecret = ws.clientSecret ?? get('client_secret');
  if (token !== undefined) defineSecret(merged, 'token', token);
  if (clientSecret !== undefined) defineSecret(merged, 'clientSecret', clientSecret);
  return merged;
}
