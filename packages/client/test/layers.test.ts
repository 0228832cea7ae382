/**
 * The folder map in the README is the layering rule: a file in `src/` imports only from its own folder and the
 * folders listed above it. The two entries, `src/index.ts` and `src/toolkit.ts` (the public surface), are exempt.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
/** The package's entry points: they re-export from every folder. */
const ENTRIES = ['index.ts', 'toolkit.ts'];

/** `['', 'config', 'workspace', ...]` in the README's order; '' is the top of `src/`. */
function folderOrder(): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const map = /<!-- folder-map:start -->([\s\S]*?)<!-- folder-map:end -->/.exec(readme)?.[1] ?? '';
  return [...map.matchAll(/^- `src\/([^`]*?)\/?`/gm)].map((m) => m[1] ?? '');
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

/** The first path segment under `src/` ('' for a top-level file). */
function folderOf(file: string): string {
  const parts = relative(src, file).split('/');
  return parts.length > 1 ? (parts[0] ?? '') : '';
}

/** Relative specifiers of every static import/export and dynamic import in `text`. */
export function relativeImports(text: string): string[] {
  const pattern = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g;
  return [...text.matchAll(pattern)].map((m) => m[1] ?? '');
}

/** Each import of `files` that points at a folder listed below the importer's own, as "file -> target". */
export function layerViolations(files: string[], order: string[]): string[] {
  const violations: string[] = [];
  for (const file of files) {
    if (ENTRIES.includes(relative(src, file))) continue;
    const own = order.indexOf(folderOf(file));
    for (const specifier of relativeImports(readFileSync(file, 'utf8'))) {
      const target = resolve(dirname(file), specifier);
      const rank = order.indexOf(folderOf(target));
      if (own < 0 || rank < 0 || rank > own) violations.push(`${relative(src, file)} -> ${relative(src, target)}`);
    }
  }
  return violations;
}

describe('source layout', () => {
  const order = folderOrder();
  const files = sourceFiles(src);

  it('the README folder map names every folder of src/, once each', () => {
    const folders = [...new Set(files.map(folderOf))].sort();
    expect([...order].sort()).toEqual(folders);
  });

  it('no file imports from a folder listed below its own', () => {
    expect(layerViolations(files, order)).toEqual([]);
  });

  it('the check sees an upward import, a dynamic import and a re-export', () => {
    expect(
      relativeImports("import type { A } from '../x.js';\nexport { b } from './y.js';\nawait import('../z.js');"),
    ).toEqual(['../x.js', './y.js', '../z.js']);
    const reversed = [...order].reverse();
    expect(layerViolations(files, reversed).length).toBeGreaterThan(0);
  });
});
