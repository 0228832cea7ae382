// What goes into the package's template/ directory, and how. One list, used by the build (scripts/build-template.mjs,
// run by `npm run build` and `prepack`) and by test/template.test.ts, which checks the packed template against app/.
// The app template IS the monorepo's app/: files are copied from it, never kept here by hand; the few that must
// differ outside the monorepo (package.json, tsconfigs, README) are derived from app/'s own by the functions below.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
export const ROOT = path.resolve(PACKAGE_DIR, '..', '..');
export const APP_DIR = path.join(ROOT, 'app');
export const COMMON_DIR = path.join(PACKAGE_DIR, 'templates', 'common');
export const API_ONLY_DIR = path.join(PACKAGE_DIR, 'templates', 'api-only');
export const OUTPUT_DIR = path.join(PACKAGE_DIR, 'template');

/** Whole directories of app/ (minus EXCLUDED) that a project gets. */
export const APP_DIRS = ['server', 'web', 'migrations'];
/**
 * Single files of app/ copied as they are. The tests are the subset of app/test that needs only the project and the
 * published packages (the embedded emulator, no PostgreSQL on 5432, no monorepo path); the monorepo runs these same
 * files.
 */
export const APP_FILES = [
  'app.yaml',
  'databricks.yml',
  'vite.config.ts',
  'vitest.config.ts',
  'scripts/dev.mjs',
  'scripts/release.mjs',
  '.github/workflows/pr-branch.yml',
  'test/helpers.ts',
  'test/emulator.test.ts',
  'test/per-user.test.ts',
  'test/server.test.ts',
  'test/unconfigured.test.ts',
];
/** app/ files rewritten for a standalone project (see deriveAppFile). */
export const DERIVED_FILES = ['package.json', 'tsconfig.json', 'tsconfig.test.json', 'web/tsconfig.json', 'README.md'];
/** Never copied, wherever they are: build output, installs, local state, secrets. */
export const EXCLUDED = (name) =>
  name === 'dist' ||
  name === 'node_modules' ||
  name === '.lakebase' ||
  name === 'release' ||
  name.startsWith('.env') ||
  name.endsWith('.tsbuildinfo');

/** The packages a project depends on, at the versions being released (read from their package.json). */
export async function kitVersions() {
  const versions = {};
  for (const pkg of ['client', 'cli', 'emulator']) {
    const manifest = JSON.parse(await readFile(path.join(ROOT, 'packages', pkg, 'package.json'), 'utf8'));
    versions[manifest.name] = manifest.version;
  }
  return versions;
}

/** Every file under `dir` (relative, '/'-separated), skipping EXCLUDED names. */
export async function listFiles(dir, prefix = '') {
  const out = [];
  for (const entry of await readdir(path.join(dir, prefix), { withFileTypes: true })) {
    if (EXCLUDED(entry.name)) continue;
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listFiles(dir, relative)));
    else if (entry.isFile()) out.push(relative);
  }
  return out.sort();
}

/** The app/ files copied unchanged: APP_FILES plus the APP_DIRS' files that are not derived. */
export async function copiedAppFiles() {
  const files = [...APP_FILES];
  for (const dir of APP_DIRS) {
    for (const file of await listFiles(APP_DIR, dir)) if (!DERIVED_FILES.includes(file)) files.push(file);
  }
  return files.sort();
}

/** A dependency spec that points at a path or a workspace: it would reach out of the user's project. */
export const isLocalSpec = (spec) => /^(file:|link:|workspace:|portal:|git\+file:|\.|\/|~\/)/.test(spec);

/** Dependencies on kit packages pinned to the released versions; anything local is refused. */
export function pinDependencies(deps, versions) {
  const out = {};
  for (const [name, spec] of Object.entries(deps ?? {})) {
    const pinned = versions[name] ?? spec;
    if (isLocalSpec(pinned)) throw new Error(`${name}@${pinned} is a local path: a project cannot depend on it`);
    out[name] = pinned;
  }
  return out;
}

/** The project's package.json from app/package.json: own start (build, then run) and test, published deps. */
export function projectManifest(app, { versions, vitest }) {
  const { dev, ...scripts } = app.scripts;
  return {
    name: 'lakebase-app',
    version: '0.1.0',
    private: true,
    type: app.type,
    engines: app.engines,
    scripts: {
      ...scripts,
      dev,
      // In the monorepo the root builds first; here the project builds itself, then execs the server (SIGTERM to npm
      // then reaches the server, which shuts down cleanly).
      start: `npm run build && ${app.scripts.start}`,
      test: 'vitest run',
      // The root's `npm run app:release` in the monorepo: build, then stage release/ for `databricks bundle deploy`.
      'app:release': 'npm run build && node scripts/release.mjs',
    },
    dependencies: pinDependencies(app.dependencies, versions),
    devDependencies: pinDependencies({ ...app.devDependencies, vitest }, versions),
  };
}

const json = (value) => `${JSON.stringify(value, null, 2)}\n`;

/** A link to a file outside app/ (../docs/...) becomes its text: the project has no such file. */
const unlinkOutside = (markdown) => markdown.replace(/\[([^\]]+)\]\((?:\.\.\/)[^)]*\)/g, '$1');

/** The content `file` gets in the project, derived from app/'s version of it. */
export async function deriveAppFile(file, context) {
  const read = async (from) => readFile(path.join(from, file), 'utf8');
  switch (file) {
    case 'package.json':
      return json(projectManifest(JSON.parse(await read(APP_DIR)), context));
    case 'tsconfig.json': {
      const { references: _, ...config } = JSON.parse(await read(APP_DIR));
      return json({ ...config, extends: './tsconfig.base.json' });
    }
    case 'tsconfig.test.json': {
      const config = JSON.parse(await read(APP_DIR));
      const { paths: _, ...compilerOptions } = config.compilerOptions;
      return json({ ...config, extends: './tsconfig.base.json', compilerOptions });
    }
    case 'web/tsconfig.json':
      return json({ ...JSON.parse(await read(APP_DIR)), extends: '../tsconfig.base.json' });
    case 'README.md': {
      const head = await readFile(path.join(COMMON_DIR, 'README.head.md'), 'utf8');
      const body = (await read(APP_DIR)).replace(/^# .*\n/, '');
      return `${head}\n${unlinkOutside(body)}`;
    }
    default:
      throw new Error(`no rule derives ${file}`);
  }
}

/** Files every template gets that are not in app/: the shared compiler options, and the dotfiles (plain-named). */
export async function commonFiles() {
  return {
    'tsconfig.base.json': await readFile(path.join(ROOT, 'tsconfig.base.json'), 'utf8'),
    gitignore: await readFile(path.join(COMMON_DIR, 'gitignore'), 'utf8'),
    'env.example': await readFile(path.join(COMMON_DIR, 'env.example'), 'utf8'),
  };
}

/** The build context: versions to pin, and the Vitest range the monorepo tests with. */
export async function buildContext() {
  const root = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8'));
  return { versions: await kitVersions(), vitest: root.devDependencies.vitest };
}
