// Writes template/app (from the monorepo's app/) and template/api-only (from templates/api-only), the directories the
// published package copies projects from. Run by `npm run build` and by `prepack`, so a packed or published package
// always holds the app as it is in this commit. template/ is build output (git-ignored).
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
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
await rm(OUTPUT_DIR, { recursive: true, force: true });

async function put(dir, file, content) {
  await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
  await writeFile(path.join(dir, file), content);
}

const app = path.join(OUTPUT_DIR, 'app');
for (const file of await copiedAppFiles()) {
  await mkdir(path.dirname(path.join(app, file)), { recursive: true });
  await cp(path.join(APP_DIR, file), path.join(app, file));
}
for (const file of DERIVED_FILES) await put(app, file, await deriveAppFile(file, context));

const apiOnly = path.join(OUTPUT_DIR, 'api-only');
for (const file of await listFiles(API_ONLY_DIR)) {
  if (file === 'package.json') {
    const manifest = JSON.parse(await readFile(path.join(API_ONLY_DIR, file), 'utf8'));
    manifest.dependencies = pinDependencies(manifest.dependencies, context.versions);
    manifest.devDependencies = pinDependencies(manifest.devDependencies, context.versions);
    manifest.allowScripts = context.allowScripts;
    await put(apiOnly, file, `${JSON.stringify(manifest, null, 2)}\n`);
  } else {
    await mkdir(path.dirname(path.join(apiOnly, file)), { recursive: true });
    await cp(path.join(API_ONLY_DIR, file), path.join(apiOnly, file));
  }
}

// The app's tsconfigs extend the monorepo's shared options, shipped beside them; api-only's tsconfig stands alone.
for (const [file, content] of Object.entries(await commonFiles())) {
  await put(app, file, content);
  if (file !== 'tsconfig.base.json') await put(apiOnly, file, content);
}
process.stderr.write(
  `create-app: template/app and template/api-only written (${Object.entries(context.versions)
    .map(([n, v]) => `${n}@${v}`)
    .join(', ')})\n`,
);
