/**
 * The import graph of a source folder, read from the text of its files (no compiler): every relative static import,
 * `export ... from`, side-effect import and `import('...')` (dynamic, or an inline type) is an edge. Type-only imports
 * count: a circle of types still makes two files one unit to read. Shared by the layer tests and the import-circle
 * test, so there is one parser.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** Every `.ts` file under `dir`, recursively (declaration files skipped). */
export function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

/** Relative specifiers of every static import/export and dynamic import in `text`. */
export function relativeImports(text: string): string[] {
  const pattern = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g;
  return [...text.matchAll(pattern)].map((m) => m[1] ?? '');
}

/** The file a relative specifier of `file` names: `./x.js` -> `x.ts`, `./dir` -> `dir/index.ts`. */
export function resolveImport(file: string, specifier: string): string {
  const target = resolve(dirname(file), specifier);
  for (const candidate of [target.replace(/\.js$/, '.ts'), `${target}.ts`, join(target, 'index.ts')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return target;
}

/** file -> the files of `files` it imports (imports of anything else, such as JSON or another package, are dropped). */
export function importGraph(files: string[]): Map<string, string[]> {
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const targets = relativeImports(readFileSync(file, 'utf8')).map((specifier) => resolveImport(file, specifier));
    graph.set(file, [...new Set(targets.filter((target) => known.has(target)))]);
  }
  return graph;
}

/** How many edges the graph has (a check that the parser found something). */
export function edgeCount(graph: Map<string, string[]>): number {
  return [...graph.values()].reduce((sum, targets) => sum + targets.length, 0);
}

/** Files that import each other round one or more loops, and one such loop (the first file back to itself). */
export interface ImportCycle {
  /** Every file of the strongly connected component, relative to the root, sorted. */
  files: string[];
  /** A shortest loop from `files[0]` back to itself: `['a.ts', 'b.ts', 'a.ts']`. */
  circle: string[];
}

/** One entry per strongly connected component of more than one file, or a file importing itself. */
export function importCycles(graph: Map<string, string[]>, root: string): ImportCycle[] {
  return stronglyConnected(graph)
    .filter((component) => component.length > 1 || (graph.get(component[0] ?? '') ?? []).includes(component[0] ?? ''))
    .map((component) => ({
      files: component.map((file) => relative(root, file)),
      circle: circleThrough(graph, new Set(component)).map((file) => relative(root, file)),
    }))
    .sort((a, b) => (a.files[0] ?? '').localeCompare(b.files[0] ?? ''));
}

/** How a cycle reads in a failure message: the loop, then every file caught in it. */
export function describeCycle(cycle: ImportCycle): string {
  return `${cycle.circle.join(' -> ')} (files in the knot: ${cycle.files.join(', ')})`;
}

/** Tarjan's algorithm, iterative so a deep graph cannot overflow the stack. */
function stronglyConnected(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let next = 0;
  for (const start of graph.keys()) {
    if (index.has(start)) continue;
    const work: Array<{ node: string; edge: number }> = [{ node: start, edge: 0 }];
    index.set(start, next);
    low.set(start, next++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1] as { node: string; edge: number };
      const targets = graph.get(frame.node) ?? [];
      if (frame.edge < targets.length) {
        const target = targets[frame.edge++] as string;
        if (!index.has(target)) {
          index.set(target, next);
          low.set(target, next++);
          stack.push(target);
          onStack.add(target);
          work.push({ node: target, edge: 0 });
        } else if (onStack.has(target)) {
          low.set(frame.node, Math.min(low.get(frame.node) ?? 0, index.get(target) ?? 0));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node) ?? 0, low.get(frame.node) ?? 0));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let member: string | undefined;
        do {
          member = stack.pop() as string;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        components.push(component.sort());
      }
    }
  }
  return components;
}

/** A shortest circle from the component's first file back to itself, staying inside the component. */
function circleThrough(graph: Map<string, string[]>, component: Set<string>): string[] {
  const start = [...component].sort()[0] as string;
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift() as string;
    for (const target of graph.get(node) ?? []) {
      if (!component.has(target)) continue;
      if (target === start) {
        const path: string[] = [];
        for (let at: string | undefined = node; at !== undefined && at !== start; at = previous.get(at)) path.push(at);
        return [start, ...path.reverse(), start];
      }
      if (!previous.has(target) && target !== start) {
        previous.set(target, node);
        queue.push(target);
      }
    }
  }
  return [start, start];
}

/** The first path segment of `file` under `root` ('' for a file directly in `root`). */
export function folderOf(root: string, file: string): string {
  const parts = relative(root, file).split('/');
  return parts.length > 1 ? (parts[0] ?? '') : '';
}

/**
 * Each import of `files` that points at a folder of `root` listed after the importer's own in `order` (or at a folder
 * not in `order`), as "file -> target". Imports that leave `root` are not this rule's business; files named in
 * `exempt` (relative to `root`) may import anything.
 */
export function layerViolations(root: string, files: string[], order: string[], exempt: string[] = []): string[] {
  const violations: string[] = [];
  for (const file of files) {
    if (exempt.includes(relative(root, file))) continue;
    const own = order.indexOf(folderOf(root, file));
    for (const specifier of relativeImports(readFileSync(file, 'utf8'))) {
      const target = resolveImport(file, specifier);
      if (relative(root, target).startsWith('..')) continue;
      const rank = order.indexOf(folderOf(root, target));
      if (own < 0 || rank < 0 || rank > own) violations.push(`${relative(root, file)} -> ${relative(root, target)}`);
    }
  }
  return violations;
}
