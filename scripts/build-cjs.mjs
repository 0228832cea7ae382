// `node scripts/build-cjs.mjs packages/<name>...`: the CommonJS build of each package, so that
// `require('@lakebase-kit/<name>')` works. Run after `tsc -b` built the ESM one into dist/. Node 20.11, our oldest
// supported Node, cannot require() an ES module, so an ESM-only dependency cannot simply be required:
// - node-pg-migrate: only the async migration functions use it, so the CommonJS build loads it with import() when a
//   migration runs (CommonJS may import() ESM on every Node we support), through the small module generated below;
// - any other ESM-only dependency (jose: we use only decodeJwt, a small pure function) is bundled into the output.
// Dependencies that can be required (pg, yaml, fastify, ...) stay external require() calls.
// Output: dist/cjs/index.js (and dist/cjs/toolkit.js where src/toolkit.ts exists, both requiring one shared chunk), the ESM build's declarations copied beside it (TypeScript reads them as
// CommonJS there), and dist/cjs/package.json, which makes dist/cjs CommonJS.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { rolldown } from 'rolldown';

const LAZY_MIGRATE = '\0lazy-node-pg-migrate';

/** Whether `require(name)` works on Node 20.11: the file it resolves to is CommonJS (or JSON). */
function isRequirable(requireFromPackage, name) {
  const file = requireFromPackage.resolve(name);
  if (file.endsWith('.cjs') || file.endsWith('.json')) return true;
  if (file.endsWith('.mjs')) return false;
  for (let dir = path.dirname(file); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const descriptor = path.join(dir, 'package.json');
    if (existsSync(descriptor)) return JSON.parse(readFileSync(descriptor, 'utf8')).type !== 'module';
  }
  return true;
}

/**
 * node-pg-migrate behind import(). These are the names src imports from it; if src starts importing another one, the
 * bundle fails with a missing export, so this cannot go stale silently.
 */
async function lazyMigrateSource(requireFromPackage) {
  const { PG_MIGRATE_LOCK_ID } = await import(requireFromPackage.resolve('node-pg-migrate'));
  return `
const load = () => import('node-pg-migrate');
export const PG_MIGRATE_LOCK_ID = ${JSON.stringify(PG_MIGRATE_LOCK_ID)};
export const runner = async (...args) => (await load()).runner(...args);
export const Migration = { create: async (...args) => (await load()).Migration.create(...args) };
`;
}

async function buildCjs(packageDir) {
  const dist = path.join(packageDir, 'dist');
  const out = path.join(dist, 'cjs');
  const manifest = JSON.parse(await readFile(path.join(packageDir, 'package.json'), 'utf8'));
  const requireFromPackage = createRequire(path.join(packageDir, 'package.json'));
  const external = new Set(
    [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})].filter((name) =>
      isRequirable(requireFromPackage, name),
    ),
  );

  await rm(out, { recursive: true, force: true });
  // Every entry point of the exports map (`.` and, for the client, `./toolkit`) is one input of one build, so code both
  // entries use lands in one shared chunk: a class has a single copy in the CommonJS build, whichever entry loads it.
  const inputs = Object.fromEntries(
    ['index', 'toolkit']
      .map((name) => [name, path.join(packageDir, 'src', `${name}.ts`)])
      .filter(([name, file]) => name === 'index' || existsSync(file)),
  );
  const bundle = await rolldown({
    input: inputs,
    platform: 'node',
    // A subpath of a dependency (`@lakebase-kit/client/toolkit`) stays external too: bundled, it would be a second copy.
    external: (id) =>
      id.startsWith('node:') || external.has(id) || [...external].some((name) => id.startsWith(`${name}/`)),
    plugins: [
      {
        name: 'lazy-node-pg-migrate',
        resolveId(id, importer) {
          if (id !== 'node-pg-migrate') return null;
          // The generated module's own import() stays a real dynamic import of the installed package.
          return importer === LAZY_MIGRATE ? { id, external: true } : LAZY_MIGRATE;
        },
        load(id) {
          return id === LAZY_MIGRATE ? lazyMigrateSource(requireFromPackage) : null;
        },
      },
    ],
  });
  await bundle.write({
    dir: out,
    format: 'cjs',
    entryFileNames: '[name].js',
    chunkFileNames: 'shared-[hash].js',
    sourcemap: true,
    dynamicImportInCjs: true,
  });
  await bundle.close();

  // Declarations: the ESM build's .d.ts files; below dist/cjs/package.json they describe the CommonJS module.
  for (const entry of await readdir(dist, { recursive: true })) {
    if (!entry.endsWith('.d.ts') || entry.startsWith('cjs')) continue;
    const text = await readFile(path.join(dist, entry), 'utf8');
    await mkdir(path.dirname(path.join(out, entry)), { recursive: true });
    // Their declaration maps describe the ESM build's layout: drop the link rather than ship a wrong one.
    await writeFile(path.join(out, entry), text.replace(/\n\/\/# sourceMappingURL=.*\n?$/, '\n'));
  }
  await writeFile(path.join(out, 'package.json'), `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);
}

for (const dir of process.argv.slice(2)) await buildCjs(path.resolve(dir));
