/**
 * The package's two entries, pinned. The root entry (`@lakebase-kit/client`) is an application's API: at most 40
 * runtime names, each a semver promise and an autocomplete entry in every user's editor, and the README's API table
 * lists exactly them. `@lakebase-kit/client/toolkit` is what the CLI, the app template and the emulator share;
 * docs/toolkit.md lists exactly its names. Adding a name to either entry means adding it here and to its page.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as root from '../src/index.js';
import * as toolkit from '../src/toolkit.js';
import { documentedImports, readmeApiNames, toolkitPageNames } from './helpers/api-list.js';

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repo = resolve(pkg, '..', '..');

const ROOT_NAMES = [
  'LakebaseBranches',
  'LakebaseEndpoints',
  'LakebaseError',
  'LakebasePool',
  'LakebaseReadPool',
  'LakebaseRoles',
  'UserPools',
  'applyMigrations',
  'checkTableAccess',
  'connect',
  'createLakebasePool',
  'createReadPool',
  'createUserPools',
  'databaseErrorCode',
  'diagnose',
  'getConnectionConfig',
  'grantAccess',
  'grantToGroup',
  'isLakebaseError',
  'loadEnvFiles',
  'migrationStatus',
  'openTelemetryAvailable',
  'redact',
  'registerSecret',
  'resolveConfig',
  'withClient',
];

const TOOLKIT_NAMES = [
  'BACKUP_TTL_SECONDS',
  'BRANCH_ID_PATTERN',
  'COMPUTE_SIZES',
  'CredentialManager',
  'ERROR_CODES',
  'INSTANCE_NAME_PATTERN',
  'LakebaseApi',
  'LakebaseConnector',
  'MAX_COMPUTE_SPREAD',
  'RELAYED_LIBRARY_ERROR',
  'RESET_LOSES',
  'RESOURCE_ID_PATTERN',
  'SCHEMA_OBJECT_KINDS',
  'SUSPEND_RANGE',
  'SqlTextError',
  'WorkspaceAuth',
  'ambiguous',
  'backupBranch',
  'backupBranchId',
  'branchIdFrom',
  'branchReadWriteEndpoint',
  'branchSnapshot',
  'buildSslOptions',
  'checkMigrations',
  'classifyConnectionFailure',
  'connectionFailureOf',
  'createBranch',
  'createLookup',
  'createMigration',
  'createStreamFactory',
  'currentBranchId',
  'deleteBranch',
  'describeResource',
  'diagnoseUser',
  'diffBranches',
  'diffSchemas',
  'ensureGitignored',
  'ensureReadWriteEndpoint',
  'envReader',
  'errorCodeInfo',
  'findExecutable',
  'generateRolePassword',
  'getBranch',
  'getDatabaseToken',
  'getLibpqEnv',
  'grantCommand',
  'isInstanceName',
  'listBranches',
  'listWorkspaceResources',
  'parseBoolean',
  'parseBranchId',
  'parseBranchName',
  'parseChoice',
  'parseComputeUnits',
  'parseDuration',
  'parseEndpointName',
  'parseEnvText',
  'parseInstanceName',
  'parseNumber',
  'parseProjectName',
  'parseRoleName',
  'parseTableName',
  'pgWire',
  'pollUntil',
  'quoteIdent',
  'quoteLiteral',
  'readBundleResources',
  'readEnvText',
  'resetBranch',
  'resolveBundleResources',
  'resolveHost',
  'resolvePerUserSettings',
  'resolveWorkspaceConfig',
  'restoreCommand',
  'schemaSnapshot',
  'scramSha256Verifier',
  'searchPathOf',
  'settingValue',
  'settlesWithin',
  'shellQuote',
  'startProxy',
  'tlsPolicy',
  'updateBranchExpiry',
  'updateEnvFile',
  'validateEndpointPath',
  'validateInstanceName',
  'verifyScramSha256',
  'waitForOperation',
  'waitUntilReady',
  'withDeadline',
  'writeFileAtomic',
  'writeFileAtomicSync',
];

const sorted = (names: Iterable<string>) => [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/** The names (values and types) `src/<entry>.ts` exports, read from its text. */
function sourceNames(entry: 'index' | 'toolkit'): Set<string> {
  const text = readFileSync(join(pkg, 'src', `${entry}.ts`), 'utf8');
  const blocks = [...text.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)].map((m) => m[1] ?? '');
  return new Set(blocks.flatMap((block) => block.split(',').map((name) => name.trim().replace(/^type\s+/, ''))));
}

/** Markdown a user reads: the READMEs of the repository, its packages and the app, and docs/. */
function userDocs(): string[] {
  const docs = readdirSync(join(repo, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => join(repo, 'docs', name));
  return [
    join(repo, 'README.md'),
    join(repo, 'app', 'README.md'),
    ...['client', 'cli', 'emulator'].map((name) => join(repo, 'packages', name, 'README.md')),
    ...docs,
  ].filter((file) => existsSync(file));
}

describe('the root entry: an application API', () => {
  it('exports exactly the pinned runtime names, at most 40', () => {
    expect(sorted(Object.keys(root))).toEqual(ROOT_NAMES);
    expect(ROOT_NAMES.length).toBeLessThanOrEqual(40);
  });

  it("the README's API table lists exactly the root names", () => {
    const listed = readmeApiNames(readFileSync(join(pkg, 'README.md'), 'utf8'));
    expect(sorted(listed)).toEqual(ROOT_NAMES);
    expect(new Set(listed).size).toBe(listed.length);
  });

  it('every import from the root entry shown in the docs names something the root exports', () => {
    const exported = sourceNames('index');
    for (const file of userDocs()) {
      const named = documentedImports(readFileSync(file, 'utf8'), '@lakebase-kit/client');
      expect(
        named.filter((name) => !exported.has(name)),
        file,
      ).toEqual([]);
    }
  });

  it('the doc checks see what they look for', () => {
    expect(readmeApiNames('x\n## API\n| Export | S |\n| - | - |\n| `a`, `b` | `c` |\n## Next\n')).toEqual(['a', 'b']);
    expect(
      documentedImports(
        "import { a, type B } from '@lakebase-kit/client';\nconst { c } = require('@lakebase-kit/client');\nimport { d } from '@lakebase-kit/client/toolkit';",
        '@lakebase-kit/client',
      ),
    ).toEqual(['a', 'B', 'c']);
  });
});

describe('the toolkit entry', () => {
  it('exports exactly the pinned runtime names, none of them also a root name', () => {
    expect(sorted(Object.keys(toolkit))).toEqual(TOOLKIT_NAMES);
    expect(TOOLKIT_NAMES.filter((name) => ROOT_NAMES.includes(name))).toEqual([]);
  });

  it('docs/toolkit.md lists exactly the toolkit names, once each', () => {
    const listed = toolkitPageNames(readFileSync(join(repo, 'docs', 'toolkit.md'), 'utf8'));
    expect(sorted(listed)).toEqual(TOOLKIT_NAMES);
    expect(new Set(listed).size).toBe(listed.length);
  });

  it('every import from the toolkit shown in the docs names something the toolkit exports', () => {
    const exported = sourceNames('toolkit');
    for (const file of userDocs()) {
      const named = documentedImports(readFileSync(file, 'utf8'), '@lakebase-kit/client/toolkit');
      expect(
        named.filter((name) => !exported.has(name)),
        file,
      ).toEqual([]);
    }
  });
});

describe('the exports map', () => {
  const manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8'));

  it('has both entries, each for import and require with their own types', () => {
    expect(Object.keys(manifest.exports)).toEqual(['.', './toolkit', './package.json']);
    for (const [entry, file] of [
      ['.', 'index'],
      ['./toolkit', 'toolkit'],
    ]) {
      expect(manifest.exports[entry as string]).toEqual({
        import: { types: `./dist/${file}.d.ts`, default: `./dist/${file}.js` },
        require: { types: `./dist/cjs/${file}.d.ts`, default: `./dist/cjs/${file}.js` },
      });
    }
  });

  it('resolves the toolkit without an exports map too (node10): toolkit/package.json, shipped', () => {
    expect(manifest.files).toContain('toolkit');
    const stub = JSON.parse(readFileSync(join(pkg, 'toolkit', 'package.json'), 'utf8'));
    expect(stub).toMatchObject({ main: '../dist/cjs/toolkit.js', types: '../dist/cjs/toolkit.d.ts' });
  });
});
