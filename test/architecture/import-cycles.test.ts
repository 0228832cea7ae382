/**
 * No import circle in any package: two files that import each other (directly or round a longer loop) are one unit
 * to read and to load, whatever the folders say. Type-only imports count (see test/helpers/import-graph.ts).
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeCycle, edgeCount, importCycles, importGraph, sourceFiles } from '../helpers/import-graph.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Each source root, with a floor on the edges found so the test cannot pass by parsing nothing. */
const ROOTS: Array<{ root: string; minEdges: number }> = [
  { root: 'packages/client/src', minEdges: 150 },
  { root: 'packages/emulator/src', minEdges: 100 },
  { root: 'packages/cli/src', minEdges: 10 },
  { root: 'packages/create-app/src', minEdges: 8 },
  { root: 'app/server', minEdges: 20 },
];

describe('import circles', () => {
  for (const { root, minEdges } of ROOTS) {
    it(`${root} has no import circle`, () => {
      const dir = join(repo, root);
      const graph = importGraph(sourceFiles(dir));
      expect(edgeCount(graph)).toBeGreaterThanOrEqual(minEdges);
      expect(importCycles(graph, dir).map(describeCycle)).toEqual([]);
    });
  }

  it('the check finds a circle, a self-import and a longer loop', () => {
    const graph = new Map([
      ['/r/a.ts', ['/r/b.ts']],
      ['/r/b.ts', ['/r/c.ts']],
      ['/r/c.ts', ['/r/a.ts', '/r/d.ts']],
      ['/r/d.ts', []],
      ['/r/e.ts', ['/r/e.ts']],
    ]);
    expect(importCycles(graph, '/r')).toEqual([
      { files: ['a.ts', 'b.ts', 'c.ts'], circle: ['a.ts', 'b.ts', 'c.ts', 'a.ts'] },
      { files: ['e.ts'], circle: ['e.ts', 'e.ts'] },
    ]);
    expect(edgeCount(graph)).toBe(5);
  });
});
