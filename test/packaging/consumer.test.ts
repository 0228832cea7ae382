import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv } from '../../app/test/npm-process.js';
import { readmeApiNames, toolkitPageNames, tsBlocks } from '../../packages/client/test/helpers/api-list.js';
import { packageProblems, typesReport } from '../helpers/package-checks.js';

/**
 * `@lakebase-kit/client` as an application installs it: the built package packed with `npm pack`, installed into an
 * empty project, and used from there with only the names its README documents: the README's examples as ESM and as
 * CommonJS, an application script over the root entry against the local PostgreSQL (static mode), and the
 * `./toolkit` subpath by `import` and by `require`. Needs the build (`npm run build`): it packs what dist/ holds.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLIENT = path.join(ROOT, 'packages', 'client');
const PG_URL = 'postgresql://postgres@127.0.0.1:5432/test';

const exec = (command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeout: number }) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(command, args, { ...options, env: options.env ?? cleanEnv({}) }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) || 1 : 0, stdout, stderr }),
    );
  });

/** An ES module example as a CommonJS script: `import { a } from 'm'` becomes `const { a } = require('m')`. */
function asCommonJs(esm: string): string {
  const requires: string[] = [];
  const body = esm.replace(/^import\s+\{([^}]*)\}\s+from\s+('[^']+');?[^\n]*$/gm, (_all, names: string, from) => {
    requires.push(`const {${names}} = require(${from});`);
    return '';
  });
  return `${requires.join('\n')}\n(async () => {\n${body}\n})().catch((error) => {\n  console.error(error);\n  process.exit(1);\n});\n`;
}

/**
 * An application over the root entry only, run as ESM and as CommonJS (`IMPORTS` is the module's header). Every
 * name it uses is in the README's API table (checked below); it prints what each did as one JSON line.
 */
const APP = `
const schema = process.env.CONSUMER_SCHEMA;
const out = { rootNames: Object.keys(client).length };

const pool = createLakebasePool({ poolSize: 1, maxOverflow: 1 });
out.isPgPool = pool instanceof LakebasePool;
out.user = (await pool.query('select current_user as who')).rows[0].who;

const reads = createReadPool(pool);
out.readPool = reads instanceof LakebaseReadPool && (await reads.query('select 1 as one')).rows[0].one === 1;

out.config = resolveConfig({}, (await loadEnvFiles(process.cwd())).env).mode;
out.withClient = await withClient({}, async (c) => (await c.query('select 2 as two')).rows[0].two);
const one = await connect();
out.connect = (await one.query('select 3 as three')).rows[0].three;
await one.end();
out.connectionConfig = (await getConnectionConfig()).host;

out.migrated = (await applyMigrations(pool, { dir: 'migrations', schema })).map((m) => m.name);
out.pending = (await migrationStatus(pool, { dir: 'migrations', schema })).pending;
const access = await checkTableAccess(pool, { schema });
out.access = { exists: access.schemaExists, missing: access.missing.length };

const report = await diagnose();
out.diagnose = { ok: report.ok, mode: report.mode };

try {
  resolveConfig({ url: 'mysql://nowhere/db' }, {});
} catch (error) {
  out.error = { lakebase: isLakebaseError(error), instance: error instanceof LakebaseError, code: error.code };
}
out.databaseErrorCode = databaseErrorCode(Object.assign(new Error('x'), { code: '28P01' }), 'connect');
out.redacted = !redact('Bearer dapi0123456789abcdef0123456789abcdef').includes('dapi0123456789abcdef');
out.otel = typeof (await openTelemetryAvailable());
out.functions = [
  createUserPools,
  UserPools,
  grantAccess,
  grantToGroup,
  registerSecret,
  LakebaseBranches,
  LakebaseEndpoints,
  LakebaseRoles,
].every(
  (f) => typeof f === 'function',
);

await reads.end();
await pool.end();
console.log(JSON.stringify(out));
`;

const ESM_HEADER = `import * as client from '@lakebase-kit/client';
import { applyMigrations, checkTableAccess, connect, createLakebasePool, createReadPool, createUserPools, databaseErrorCode, diagnose, getConnectionConfig, grantAccess, grantToGroup, isLakebaseError, LakebaseBranches, LakebaseEndpoints, LakebaseError, LakebasePool, LakebaseReadPool, LakebaseRoles, loadEnvFiles, migrationStatus, openTelemetryAvailable, redact, registerSecret, resolveConfig, UserPools, withClient } from '@lakebase-kit/client';
`;

/** The names APP uses from the root entry (it must use nothing else). */
const APP_NAMES = [...(/\{([^}]*)\}/.exec(ESM_HEADER.split('\n')[1] ?? '')?.[1] ?? '').split(',')].map((name) =>
  name.trim(),
);

const TOOLKIT_CHECK = `
const out = {
  toolkitNames: Object.keys(toolkit).sort(),
  rootHasToolkitNames: Object.keys(toolkit).filter((name) => name in client),
};
try {
  toolkit.parseInstanceName('not a name', 'LAKEBASE_INSTANCE_NAME');
} catch (error) {
  // One copy of each class per build: the toolkit's error is the root entry's LakebaseError.
  out.error = { code: error.code, sameClass: error instanceof client.LakebaseError, lakebase: client.isLakebaseError(error) };
}
out.number = toolkit.parseNumber('42', 'N', { min: 0, max: 100 });
console.log(JSON.stringify(out));
`;

describe('@lakebase-kit/client from its tarball, in an empty project', () => {
  const work = path.join(os.tmpdir(), `lakebase-consumer-${randomBytes(4).toString('hex')}`);
  const project = path.join(work, 'project');
  const schemas = [`consumer_esm_${randomBytes(4).toString('hex')}`, `consumer_cjs_${randomBytes(4).toString('hex')}`];
  const env = cleanEnv({ LAKEBASE_PG_URL: PG_URL });
  let tarball = '';

  beforeAll(async () => {
    for (const built of ['dist/index.js', 'dist/toolkit.js', 'dist/cjs/index.js', 'dist/cjs/toolkit.js']) {
      if (!existsSync(path.join(CLIENT, built)))
        throw new Error(`packages/client/${built} is missing: run npm run build`);
    }
    await mkdir(project, { recursive: true });
    const packed = await exec('npm', ['pack', '--json', '--pack-destination', work], { cwd: CLIENT, timeout: 60_000 });
    expect(packed.code, packed.stderr).toBe(0);
    tarball = path.join(work, (JSON.parse(packed.stdout) as { filename: string }[])[0]?.filename ?? '');
    await writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
    // The dependencies (pg, yaml, jose, node-pg-migrate) come from npm's cache when it has them.
    const installed = await exec('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], {
      cwd: project,
      timeout: 180_000,
    });
    expect(installed.code, installed.stderr).toBe(0);
    await mkdir(path.join(project, 'migrations'));
    await writeFile(
      path.join(project, 'migrations', '1_notes.sql'),
      '-- Up Migration\ncreate table notes (id int primary key);\n-- Down Migration\ndrop table notes;\n',
    );
    await writeFile(path.join(project, '.env'), `LAKEBASE_PG_URL=${PG_URL}\n`);
  }, 240_000);

  afterAll(async () => {
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    for (const schema of schemas) await admin.query(`drop schema if exists ${schema} cascade`);
    await admin.end();
    await rm(work, { recursive: true, force: true });
  });

  it('publint and attw find no problems in the tarball, for both entries', async () => {
    expect(await packageProblems(tarball, work)).toEqual([]);
    expect(await typesReport(tarball, work)).toContain('"@lakebase-kit/client/toolkit"');
  }, 120_000);

  it("the installed root entry exports exactly the names its README's API table lists, at most 40", async () => {
    const installed = path.join(project, 'node_modules', '@lakebase-kit', 'client');
    const listed = readmeApiNames(await readFile(path.join(installed, 'README.md'), 'utf8')).sort();
    const script = `console.log(JSON.stringify(Object.keys(require('@lakebase-kit/client')).sort()))`;
    const result = await exec(process.execPath, ['-e', script], { cwd: project, env, timeout: 30_000 });
    expect(result.code, result.stderr).toBe(0);
    const names = JSON.parse(result.stdout) as string[];
    expect(names).toEqual(listed);
    expect(names.length).toBeLessThanOrEqual(40);
    expect(APP_NAMES.filter((name) => !listed.includes(name))).toEqual([]);
  });

  it("runs the READMEs' first examples as ESM and as CommonJS", async () => {
    const examples = [
      tsBlocks(await readFile(path.join(CLIENT, 'README.md'), 'utf8'))[0] ?? '',
      tsBlocks(await readFile(path.join(ROOT, 'README.md'), 'utf8'))[0] ?? '',
    ];
    for (const [index, example] of examples.entries()) {
      expect(example).toContain("from '@lakebase-kit/client'");
      const shown = `${example}\nconsole.log(JSON.stringify(rows));\n`;
      await writeFile(path.join(project, `example-${index}.mjs`), shown);
      await writeFile(path.join(project, `example-${index}.cjs`), asCommonJs(shown));
      for (const file of [`example-${index}.mjs`, `example-${index}.cjs`]) {
        const result = await exec(process.execPath, [file], { cwd: project, env, timeout: 60_000 });
        expect(result.code, `${file}: ${result.stderr}`).toBe(0);
        expect(JSON.parse(result.stdout), file).toEqual([{ current_user: 'postgres' }]);
      }
    }
  }, 120_000);

  it('an application using only root names works the same from ESM and from CommonJS', async () => {
    const cjsHeader = ESM_HEADER.replace(
      /^import \* as client from ('[^']+');$/m,
      'const client = require($1);',
    ).replace(/^import \{([^}]*)\} from ('[^']+');$/m, 'const {$1} = require($2);');
    await writeFile(path.join(project, 'app.mjs'), `${ESM_HEADER}${APP}`);
    await writeFile(path.join(project, 'app.cjs'), asCommonJs(`${APP}`).replace(/^/, cjsHeader));
    for (const [index, file] of ['app.mjs', 'app.cjs'].entries()) {
      const result = await exec(process.execPath, [file], {
        cwd: project,
        env: { ...env, CONSUMER_SCHEMA: schemas[index] },
        timeout: 120_000,
      });
      expect(result.code, `${file}: ${result.stderr}`).toBe(0);
      expect(JSON.parse(result.stdout), file).toEqual({
        rootNames: APP_NAMES.length,
        isPgPool: true,
        user: 'postgres',
        readPool: true,
        config: 'static',
        withClient: 2,
        connect: 3,
        connectionConfig: '127.0.0.1',
        migrated: ['1_notes'],
        pending: [],
        access: { exists: true, missing: 0 },
        diagnose: { ok: true, mode: 'static' },
        error: { lakebase: true, instance: true, code: 'LAKEBASE_CONFIG_INVALID' },
        databaseErrorCode: 'LAKEBASE_LOGIN_FAILED',
        redacted: true,
        otel: 'boolean',
        functions: true,
      });
    }
  }, 240_000);

  it('the toolkit subpath loads by import and by require, and shares its classes with the root entry', async () => {
    const page = toolkitPageNames(await readFile(path.join(ROOT, 'docs', 'toolkit.md'), 'utf8')).sort();
    await writeFile(
      path.join(project, 'toolkit.mjs'),
      `import * as client from '@lakebase-kit/client';\nimport * as toolkit from '@lakebase-kit/client/toolkit';\n${TOOLKIT_CHECK}`,
    );
    await writeFile(
      path.join(project, 'toolkit.cjs'),
      `const client = require('@lakebase-kit/client');\nconst toolkit = require('@lakebase-kit/client/toolkit');\n${TOOLKIT_CHECK}`,
    );
    for (const file of ['toolkit.mjs', 'toolkit.cjs']) {
      const result = await exec(process.execPath, [file], { cwd: project, env, timeout: 30_000 });
      expect(result.code, `${file}: ${result.stderr}`).toBe(0);
      expect(JSON.parse(result.stdout), file).toEqual({
        toolkitNames: page,
        rootHasToolkitNames: [],
        error: { code: 'LAKEBASE_CONFIG_INVALID', sameClass: true, lakebase: true },
        number: 42,
      });
    }
  }, 60_000);
});
