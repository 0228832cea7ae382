/** Readers of the lists the docs keep of each entry's names (used by exports.test.ts and the consumer test). */

/** Every backticked name in the first column of the table under `## API` in the client README. */
export function readmeApiNames(readme: string): string[] {
  const section = /\n## API\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? '';
  const rows = section.split('\n').filter((line) => line.startsWith('|') && !/^\|\s*(Export|-)/.test(line));
  return rows.flatMap((row) => [...(row.split('|')[1] ?? '').matchAll(/`(\w+)`/g)].map((m) => m[1] ?? ''));
}

/** The names docs/toolkit.md lists: one `- \`name\`` line each. */
export function toolkitPageNames(page: string): string[] {
  return [...page.matchAll(/^- `(\w+)`/gm)].map((m) => m[1] ?? '');
}

/** Names of `import { … } from '<specifier>'` (or `require`) statements in Markdown code, `type` dropped. */
export function documentedImports(text: string, specifier: string): string[] {
  const quoted = specifier.replace(/[/.]/g, '\\$&');
  const pattern = new RegExp(
    `(?:import\\s+(?:type\\s+)?\\{([^}]*)\\}\\s+from|const\\s+\\{([^}]*)\\}\\s*=\\s*require\\()\\s*['"]${quoted}['"]`,
    'g',
  );
  return [...text.matchAll(pattern)].flatMap((m) =>
    (m[1] ?? m[2] ?? '')
      .split(',')
      .map((name) => name.trim().replace(/^type\s+/, ''))
      .filter(Boolean),
  );
}

/** The ```ts code blocks of a Markdown text, in order. */
export function tsBlocks(text: string): string[] {
  return [...text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1] ?? '');
}
