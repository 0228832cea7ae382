// Writes template/app (from the monorepo's app/) and template/api-only (from templates/api-only), the directories the
// published package copies projects from. Run by `npm run build` and by `prepack`, so a packed or published package
// always holds the app as it is in this commit. template/ is build output (git-ignored).
//
// It may run while something reads template/ (tests pack and publish this package while others create projects from
// it), so it never empties the directory: a file is replaced (write to a temporary name, rename) only when its
// content changes, and files no longer wanted are removed last.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  API_ONLY_DIR,
  APP_DIR,
  buildContext,
  commonFiles,
  copiedAppFiles,
  DERIVED_FILES,
  deriveAppFile,
  listFiles,
  OUTPUT_DIR,
  pinDependencies,
} from './template.mjs';

const context = await buildContext();
/** template-relative path -> content */
const wanted = new Map();

for (const file of await copiedAppFiles()) wanted.set(`app/${file}`, await readFile(path.join(APP_DIR, file)));
for (const file of DERIVED_FILES) wanted.set(`app/${file}`, await deriveAppFile(file, context));

for (const file of await listFiles(API_ONLY_DIR)) {
  let content = await readFile(path.join(API_ONLY_DIR, file));
  if (file === 'package.json') {
    const manifest = JSON.parse(content.toString('utf8'));
    manifest.dependencies = pinDependencies(manifest.dependencies, context.versions);
    manifest.devDependencies = pinDependencies(manifest.devDependencies, context.versions);
    manifest.allowScripts = context.allowScripts;
    content = `${JSON.stringify(manifest, null, 2)}\n`;
  }
  wanted.set(`api-only/${file}`, content);
}

// The app's tsconfigs extend the monorepo's shared options, shipped beside them; api-only's tsconfig stands alone.
for (const [file, content] of Object.entries(await commonFiles())) {
  wanted.set(`app/${file}`, content);
  if (file !== 'tsconfig.base.json') wanted.set(`api-only/${file}`, content);
}

let written = 0;
for (const [file, content] of wanted) {
  const target = path.join(OUTPUT_DIR, file);
  const bytes = Buffer.from(content);
  const current = await readFile(target).catch(() => undefined);
  if (current?.equals(bytes)) continue;
  await mkdir(path.dirname(target), { recursive: true });
  const temporary = `${target}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temporary, bytes);
  await rename(temporary, target);
  written++;
}
const existing = await listFiles(OUTPUT_DIR).catch(() => []);
for (const file of existing) {
  if (wanted.has(file)) continue;
  await rm(path.join(OUTPUT_DIR, file), { force: true });
  // Its directories too, once empty (a project would otherwise get an empty folder).
  for (
    let dir = path.dirname(path.join(OUTPUT_DIR, file));
    dir.startsWith(`${OUTPUT_DIR}${path.sep}`);
    dir = path.dirname(dir)
  ) {
    if (
      !(await rmdir(dir).then(
        () => true,
        () => false,
      ))
    )
      break;
  }
}

process.stderr.write(
  `create-app: template/ up to date (${written} file(s) written) for ${Object.entries(context.versions)
    .map(([name, version]) => `${name}@${version}`)
    .join(', ')}\n`,
);
