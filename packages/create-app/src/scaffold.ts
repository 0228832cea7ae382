import { randomBytes } from 'node:crypto';
import { cp, readdir, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TemplateName } from './args.js';
import { CreateAppError } from './errors.js';
import type { ProjectName } from './name.js';

/**
 * Files npm would drop or rename when packing this package (.gitignore, .env*) are shipped under plain names and get
 * their real names here.
 */
const RENAMED: Record<string, string> = { gitignore: '.gitignore', 'env.example': '.env.example' };

export function templateDir(template: TemplateName): string {
  return fileURLToPath(new URL(`../template/${template}`, import.meta.url));
}

/** Refuses a target that exists and is not an empty directory. */
export async function checkTarget(target: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') {
      throw new CreateAppError('CREATE_APP_TARGET_NOT_EMPTY', `${target} exists and is not a directory.`);
    }
    throw error;
  }
  if (entries.length > 0) {
    throw new CreateAppError(
      'CREATE_APP_TARGET_NOT_EMPTY',
      `${target} is not empty (${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}, e.g. ${entries[0]}).`,
    );
  }
}

/** The directory the project is built in: beside the target (same file system, so the final rename is atomic). */
export function stagingDir(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.create-${randomBytes(4).toString('hex')}`);
}

/** Copies the template into `dir` and makes it this project's: dotfile names, package name, README title. */
export async function writeProject(template: TemplateName, dir: string, name: ProjectName): Promise<void> {
  const source = templateDir(template);
  try {
    await stat(path.join(source, 'package.json'));
  } catch {
    throw new CreateAppError('CREATE_APP_TEMPLATE_MISSING', `The "${template}" template is missing (${source}).`);
  }
  await cp(source, dir, { recursive: true, errorOnExist: true, force: false });
  for (const [shipped, real] of Object.entries(RENAMED)) {
    await rename(path.join(dir, shipped), path.join(dir, real)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }
  const manifestPath = path.join(dir, 'package.json');
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as Record<string, unknown>;
  await writeFile(manifestPath, `${JSON.stringify({ ...manifest, name: name.packageName, private: true }, null, 2)}\n`);
  const readme = path.join(dir, 'README.md');
  await writeFile(readme, (await readFile(readme, 'utf8')).replaceAll('{{name}}', name.packageName));
}

/** Moves the finished project into place; an empty target directory is replaced. */
export async function moveIntoPlace(staging: string, target: string): Promise<void> {
  await checkTarget(target);
  await rmdir(target).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
  await rename(staging, target);
}

export function removeStaging(staging: string): Promise<void> {
  return rm(staging, { recursive: true, force: true, maxRetries: 3 });
}
