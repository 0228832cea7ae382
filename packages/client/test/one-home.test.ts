/**
 * One home per piece of knowledge across the packages (issue 27): quoting, atomic writes, deadlines, the
 * connection-failure classification, the instance-name pattern and the env reader each live in one client module,
 * which the CLI, the app and the emulator import through `@lakebase-kit/client/toolkit`. This scans every package's
 * `src/` and the app's `server/` for a second copy coming back.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The one home of each helper, by the names it is defined under. */
const HOMES = {
  quoteIdent: 'packages/client/src/sql/quote.ts',
  quoteLiteral: 'packages/client/src/sql/quote.ts',
  shellQuote: 'packages/client/src/sql/quote.ts',
  writeFileAtomic: 'packages/client/src/config/atomic-write.ts',
  writeFileAtomicSync: 'packages/client/src/config/atomic-write.ts',
  withDeadline: 'packages/client/src/time.ts',
  settlesWithin: 'packages/client/src/time.ts',
  classifyConnectionFailure: 'packages/client/src/connection/connection-failures.ts',
  connectionFailureOf: 'packages/client/src/connection/connection-failures.ts',
  isInstanceName: 'packages/client/src/config/names.ts',
  envReader: 'packages/client/src/config/env-reader.ts',
  parseBoolean: 'packages/client/src/config/env-reader.ts',
} as const;
const homeOf = (name: string): string | undefined => (HOMES as Record<string, string>)[name];
/** Other names the same knowledge went by in earlier copies. */
const OLD_NAMES = ['quoteIdentifier', 'escapeIdentifier', 'escapeLiteral', 'shellWord', 'writeAtomic', 'isTrue'];

const QUOTE_HOME = HOMES.quoteIdent;
const ATOMIC_HOME = HOMES.writeFileAtomic;
const DEADLINE_HOME = HOMES.withDeadline;
const FAILURES_HOME = HOMES.classifyConnectionFailure;
const NAMES_HOME = HOMES.isInstanceName;
const ENV_HOME = HOMES.envReader;

/** Every `.ts` file under packages/<name>/src and app/server, as `[repo-relative path, text]`. */
function sources(): Array<[string, string]> {
  const roots = [
    ...readdirSync(join(repo, 'packages'), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => join(repo, 'packages', entry.name, 'src')),
    join(repo, 'app', 'server'),
  ];
  const walk = (dir: string): string[] => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return [];
    }
    return entries.flatMap((entry) =>
      entry.isDirectory()
        ? walk(join(dir, entry.name))
        : entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')
          ? [join(dir, entry.name)]
          : [],
    );
  };
  return roots.flatMap(walk).map((file) => [relative(repo, file).split('\\').join('/'), readFileSync(file, 'utf8')]);
}

/** The text without comments, so a sentence about `'57P01'` or `rename(` is not code. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

const files = sources().map(([file, text]) => ({ file, text: code(text) }));

/** `file: what` for every match of `pattern` in files other than `home`. */
function outside(home: string | string[], pattern: RegExp, what: string): string[] {
  const homes = Array.isArray(home) ? home : [home];
  return files
    .filter(({ file }) => !homes.includes(file))
    .flatMap(({ file, text }) => [...text.matchAll(pattern)].map((m) => `${file}: ${what} ${m[0].trim()}`));
}

/** SQLSTATEs of connection failures (classes 08 and 53, 57P0x) and Node's socket error codes, as string literals. */
const SQLSTATE_LITERAL = /['"`](08[0-9A-Z]{3}|53[0-9A-Z]{3}|57P0[0-9])['"`]/g;
const SOCKET_LITERAL =
  /['"`](ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE)['"`]/g;
/**
 * Where the emulator or the proxy *raises* a SQLSTATE, as a server does: the first argument of `new StorageError(` or
 * `fatal(x, ` / `sendFatal(x, `,
 * a `sqlstate:`/`sqlstate =` field, or `code:` in an `errorResponse({...})`. Raising one is not a list of them.
 */
const RAISES = /(new StorageError\(\s*|[fF]atal\(\s*\w+(?:\.\w+)?,\s*|sqlstate\s*[:=]\s*|code:\s*)$/;
/** Code that answers PostgreSQL clients as a server does: the emulator, and the proxy with its wire protocol. */
const SERVER_SIDE = /^packages\/(emulator\/src\/|client\/src\/proxy\/)/;

describe('one home per piece of knowledge', () => {
  it('scans the sources it means to (sanity: the homes themselves are found)', () => {
    const found = new Set(files.map((f) => f.file));
    for (const home of new Set(Object.values(HOMES))) expect(found, home).toContain(home);
    expect(files.filter((f) => f.file.startsWith('packages/emulator/src/')).length).toBeGreaterThan(20);
    expect(files.filter((f) => f.file.startsWith('app/server/')).length).toBeGreaterThan(5);
  });

  it('each helper is defined only in its home (no second quoteIdent, writeFileAtomic, withDeadline, ...)', () => {
    const found = [...Object.keys(HOMES), ...OLD_NAMES].flatMap((name) =>
      outside(homeOf(name) ?? [], new RegExp(`(function\\s+${name}\\b|(const|let)\\s+${name}\\s*=)`, 'g'), 'defines'),
    );
    expect(found).toEqual([]);
  });

  it('SQL and shell quoting are written only in sql/quote.ts (through pg.escapeIdentifier / pg.escapeLiteral)', () => {
    expect([
      ...outside(QUOTE_HOME, /\.replace(All)?\(\s*(['"`]"['"`]|\/"\/g)\s*,\s*['"`]""['"`]\s*\)/g, 'doubles "'),
      ...outside(QUOTE_HOME, /\.replace(All)?\(\s*("'"|\/'\/g)\s*,\s*("''"|`'\\\\''`|"'\\\\''")\s*\)/g, "doubles '"),
    ]).toEqual([]);
    expect(readFileSync(join(repo, QUOTE_HOME), 'utf8')).toMatch(/pg\.escapeIdentifier[\s\S]*pg\.escapeLiteral/);
  });

  it('a file is written atomically (temporary file + rename) only in config/atomic-write.ts', () => {
    // A rename of a file this module just wrote is the atomic-write recipe; renaming a whole copied directory into
    // place (the emulator's binaries) is not a file write, and a method named rename is not fs.rename.
    const writesThenRenames = files
      .filter(({ file }) => file !== ATOMIC_HOME)
      .filter(({ text }) => /(^|[^.\w])(rename|renameSync)\(/.test(text) && /\bwriteFile(Sync)?\(/.test(text))
      .filter(({ text }) => !/\bcp\([^)]*recursive: true/.test(text))
      .map(({ file }) => `${file}: writes a file and renames it`);
    expect(writesThenRenames).toEqual([]);
  });

  it('a promise is raced against a timer only in time.ts (withDeadline, settlesWithin)', () => {
    const races = files
      .filter(({ file }) => file !== DEADLINE_HOME)
      .filter(({ text }) => /Promise\.race\(/.test(text) && /setTimeout\(/.test(text))
      .map(({ file }) => `${file}: Promise.race with a setTimeout`);
    expect(races).toEqual([]);
  });

  it('connection-failure SQLSTATEs and socket codes are listed only in connection/connection-failures.ts', () => {
    const listed = files
      .filter(({ file }) => file !== FAILURES_HOME)
      .flatMap(({ file, text }) => {
        const sqlstates = [...text.matchAll(SQLSTATE_LITERAL)]
          .filter((m) => !(SERVER_SIDE.test(file) && RAISES.test(text.slice(0, m.index))))
          .map((m) => m[0]);
        // One socket code compared on its own (an HTTP client's reset ignored) is not a list; two or more are.
        const sockets = new Set([...text.matchAll(SOCKET_LITERAL)].map((m) => m[0]));
        return [
          ...sqlstates.map((s) => `${file}: lists SQLSTATE ${s}`),
          ...(sockets.size > 1 ? [`${file}: lists socket codes ${[...sockets].join(', ')}`] : []),
          ...[...text.matchAll(/\/\^\(?(08|53|57P)\b[^/]*\//g)].map((m) => `${file}: SQLSTATE class regex ${m[0]}`),
        ];
      });
    expect(listed).toEqual([]);
  });

  it('the resource-name patterns are written only in config/names.ts', () => {
    expect([
      ...outside(NAMES_HOME, /\[a-z0-9\]\(\[a-z0-9-\]\{0,61\}\[a-z0-9\]\)/g, 'instance-name pattern'),
      ...outside(NAMES_HOME, /\[a-z\]\(\[a-z0-9-\]\{0,61\}\[a-z0-9\]\)/g, 'resource-id pattern'),
    ]).toEqual([]);
  });

  it("booleans from the environment are parsed only in config/env-reader.ts (no second ['true', '1', 'yes'] list)", () => {
    expect(
      outside(
        ENV_HOME,
        /\[\s*'(true|1|yes|on|off|false|0|no)'\s*,\s*'(true|1|yes|on|off|false|0|no)'[^\]]*\]/g,
        'lists',
      ),
    ).toEqual([]);
  });
});
