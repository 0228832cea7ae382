// `npm run app:release` (repo root): stage app/release/ (or the directory given as the first argument), the
// self-contained directory `databricks bundle deploy` uploads. Databricks Apps runs `npm install` and `npm run start`
// in what it receives, and it receives only the app: the monorepo's workspace link to @lakebase-kit/client, the root
// tsconfig and the TypeScript/Vite toolchain are not there. So the release holds the built server and UI, the migrations, app.yaml, the client packed as a
// tarball (`npm pack`), and a package.json whose dependencies are the server's runtime ones, pinned by a lockfile.
// It has no `build` script: everything is built here, so the platform only installs and starts.
// Its `start` script execs node (`exec node dist/server/main.js`): the platform stops the app with SIGTERM to npm, which
// forwards it to the `sh -c` running the script; with exec, that shell has become the server, which shuts down cleanly.
import { execFileSync } from 'node:child_process';
import { cp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const APP = fileURLToPath(new URL('..', import.meta.url));
const ROOT = path.resolve(APP, '..');
const CLIENT = path.join(ROOT, 'packages', 'client');
// In the kit's repository the client is a workspace package, packed into the release. In a project made by
// `npm create @lakebase-kit/app` it is a registry dependency, kept as it is, and the project's own lockfile pins it.
const IN_KIT_REPOSITORY = await stat(path.join(CLIENT, 'package.json')).then(
  () => true,
  () => false,
);
const LOCKFILE = IN_KIT_REPOSITORY ? path.join(ROOT, 'package-lock.json') : path.join(APP, 'package-lock.json');
const RELEASE = path.resolve(process.argv[2] ?? path.join(APP, 'release'));
/** Bundled into the UI by Vite, or only used in development: not installed on the platform. */
const BUILD_ONLY = new Set(['react', 'react-dom']);

async function requireBuilt(file, what) {
  try {
    await stat(file);
  } catch {
    throw new Error(`${what} is not built (${path.relative(ROOT, file)} is missing): run \`npm run build:runtime\`.`);
  }
}

function npm(args, cwd) {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
}

await requireBuilt(path.join(APP, 'dist', 'server', 'main.js'), 'The app server');
await requireBuilt(path.join(APP, 'dist', 'web', 'index.html'), 'The app UI');
if (IN_KIT_REPOSITORY) await requireBuilt(path.join(CLIENT, 'dist', 'index.js'), '@lakebase-kit/client');

await rm(RELEASE, { recursive: true, force: true });
await mkdir(IN_KIT_REPOSITORY ? path.join(RELEASE, 'vendor') : RELEASE, { recursive: true });
await cp(path.join(APP, 'dist'), path.join(RELEASE, 'dist'), {
  recursive: true,
  filter: (source) => !source.endsWith('.tsbuildinfo'),
});
await cp(path.join(APP, 'migrations'), path.join(RELEASE, 'migrations'), { recursive: true });
await cp(path.join(APP, 'app.yaml'), path.join(RELEASE, 'app.yaml'));

const [{ filename: clientTarball }] = IN_KIT_REPOSITORY
  ? JSON.parse(npm(['pack', '--json', '--pack-destination', path.join(RELEASE, 'vendor')], CLIENT))
  : [{ filename: undefined }];

const app = JSON.parse(await readFile(path.join(APP, 'package.json'), 'utf8'));
const dependencies = {};
for (const [name, range] of Object.entries(app.dependencies)) {
  if (BUILD_ONLY.has(name)) continue;
  dependencies[name] = name === '@lakebase-kit/client' && clientTarball ? `file:vendor/${clientTarball}` : range;
}
const release = {
  name: app.name,
  version: app.version,
  private: true,
  description: app.description,
  type: 'module',
  license: app.license,
  engines: app.engines,
  // The platform only starts what is built here (a project's own `start` builds first; the release has no sources).
  scripts: { start: 'exec node dist/server/main.js' },
  dependencies,
};
await writeFile(path.join(RELEASE, 'package.json'), `${JSON.stringify(release, null, 2)}\n`);
// Pin what the platform installs to the versions tested here: start from the repository's lockfile, which npm prunes
// to this package's dependencies, keeping every version it already resolved.
await cp(LOCKFILE, path.join(RELEASE, 'package-lock.json')).catch((error) => {
  if (error.code !== 'ENOENT') throw error; // a project not installed with npm yet: npm resolves afresh
});
npm(['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], RELEASE);

console.log(
  `staged ${path.relative(process.cwd(), RELEASE) || '.'}: deploy it with \`databricks bundle deploy\` from app/`,
);
