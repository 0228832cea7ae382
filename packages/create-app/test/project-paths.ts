import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/** Every file under `dir` (relative paths), skipping node_modules, dist, .git and the emulator's data. */
export async function projectFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(path.join(dir, prefix), { withFileTypes: true })) {
    if (['node_modules', 'dist', '.git', '.lakebase'].includes(entry.name)) continue;
    const relative = prefix ? path.join(prefix, entry.name) : entry.name;
    if (entry.isDirectory()) out.push(...(await projectFiles(dir, relative)));
    else out.push(relative);
  }
  return out.sort();
}

const TEXT = /\.(ts|tsx|mts|mjs|js|json|md|ya?ml|sql|html|css|example)$|^\.?gitignore$|^env\.example$/;
/**
 * A relative path that is resolved from the file it is in: an import specifier, a Markdown link, a tsconfig's
 * extends/path. (Paths given to `new URL(..., import.meta.url)` in server/ resolve from dist/ at run time; a path out
 * of the monorepo there is caught by the "packages/" check below and by running the project's tests standalone.)
 */
const RELATIVE =
  /(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]*)['"]|\]\((\.{1,2}\/[^)\s]*)\)|"(?:extends|path)"\s*:\s*"(\.{1,2}\/[^"]*)"/g;

/**
 * What in a project points out of it: a dependency on a path or workspace (file:, link:, workspace:, a relative or
 * absolute path), a tsconfig extends/reference/paths outside it, or any relative path in a text file that resolves
 * outside the project directory. Returns one line per finding (empty: the project stands alone).
 */
export async function referencesOutside(dir: string): Promise<string[]> {
  const findings: string[] = [];
  const root = path.resolve(dir);
  for (const file of await projectFiles(dir)) {
    const base = path.basename(file);
    if (!TEXT.test(base) || base === 'package-lock.json') continue;
    const text = await readFile(path.join(dir, file), 'utf8');
    if (/(?:^|["'\s])(?:file|link|workspace|portal):/m.test(text) && base === 'package.json') {
      findings.push(`${file}: a file:/link:/workspace: dependency`);
    }
    if (base === 'package.json') {
      const manifest = JSON.parse(text) as Record<string, Record<string, string> | undefined>;
      for (const field of ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies']) {
        for (const [name, spec] of Object.entries(manifest[field] ?? {})) {
          if (/^(file:|link:|workspace:|portal:|\.|\/|~\/)/.test(spec)) findings.push(`${file}: ${name}@${spec}`);
        }
      }
    }
    for (const match of text.matchAll(RELATIVE)) {
      const relative = (match[1] ?? match[2] ?? match[3]) as string;
      const target = path.resolve(root, path.dirname(file), relative);
      if (target !== root && !target.startsWith(root + path.sep))
        findings.push(`${file}: ${relative} leaves the project`);
    }
    if (/packages\/(client|emulator|cli)\//.test(text)) findings.push(`${file}: names a monorepo package folder`);
  }
  return findings;
}
