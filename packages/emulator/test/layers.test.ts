/**
 * The emulator's workspace reads in the order data flows: `model/` (state and resources) knows nothing of logins or
 * HTTP, `login/` builds on the model only, `http/` on both, and the top (`workspace.ts`, `types.ts`, `index.ts`)
 * composes them. The parser is shared with the client's layers test (test/helpers/import-graph.ts).
 */
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { edgeCount, folderOf, importGraph, layerViolations, sourceFiles } from '../../../test/helpers/import-graph.js';

const src = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'src');
const workspace = join(src, 'workspace');
/** Lowest first; '' is the top of `workspace/`. */
const ORDER = ['model', 'login', 'http', ''];

describe('emulator workspace layers', () => {
  const files = sourceFiles(workspace);

  it('workspace/ holds model/, login/ and http/ under the files that compose them', () => {
    expect([...new Set(files.map((file) => folderOf(workspace, file)))].sort()).toEqual([...ORDER].sort());
  });

  it('model imports nothing from login or http; login imports the model only; http the model and login', () => {
    expect(edgeCount(importGraph(files))).toBeGreaterThanOrEqual(60);
    expect(layerViolations(workspace, files, ORDER)).toEqual([]);
  });

  it('the check sees an upward import', () => {
    expect(layerViolations(workspace, files, [...ORDER].reverse()).length).toBeGreaterThan(0);
  });

  it('postgres/ and workspace/ do not import each other (contracts.ts is their seam)', () => {
    const graph = importGraph(sourceFiles(src));
    const across = [...graph].flatMap(([file, targets]) =>
      targets
        .filter((target) => {
          const [from, to] = [folderOf(src, file), folderOf(src, target)];
          return (from === 'postgres' && to === 'workspace') || (from === 'workspace' && to === 'postgres');
        })
        .map((target) => `${relative(src, file)} -> ${relative(src, target)}`),
    );
    expect(edgeCount(graph)).toBeGreaterThanOrEqual(100);
    expect(across).toEqual([]);
  });
});
