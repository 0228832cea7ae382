/**
 * The folder map in the README is the layering rule: a file in `src/` imports only from its own folder and the
 * folders listed above it. The entries (`src/index.ts`, `src/toolkit.ts`) are exempt. The import parser is shared with
 * the import-circle test (test/helpers/import-graph.ts).
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { folderOf, layerViolations, relativeImports, sourceFiles } from '../../../test/helpers/import-graph.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
/** `src/index.ts` (the public surface) and `src/toolkit.ts` (the shared subpath) gather every layer. */
const ENTRIES = ['index.ts', 'toolkit.ts'];

/** `['', 'config', 'workspace', ...]` in the README's order; '' is the top of `src/`. */
function folderOrder(): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const map = /<!-- folder-map:start -->([\s\S]*?)<!-- folder-map:end -->/.exec(readme)?.[1] ?? '';
  return [...map.matchAll(/^- `src\/([^`]*?)\/?`/gm)].map((m) => m[1] ?? '');
}

describe('source layout', () => {
  const order = folderOrder();
  const files = sourceFiles(src);

  it('the README folder map names every folder of src/, once each', () => {
    const folders = [...new Set(files.map((file) => folderOf(src, file)))].sort();
    expect([...order].sort()).toEqual(folders);
  });

  it('no file imports from a folder listed below its own', () => {
    expect(layerViolations(src, files, order, ENTRIES)).toEqual([]);
  });

  it('the check sees an upward import, a dynamic import and a re-export', () => {
    expect(
      relativeImports("import type { A } from '../x.js';\nexport { b } from './y.js';\nawait import('../z.js');"),
    ).toEqual(['../x.js', './y.js', '../z.js']);
    const reversed = [...order].reverse();
    expect(layerViolations(src, files, reversed, ENTRIES).length).toBeGreaterThan(0);
  });
});
