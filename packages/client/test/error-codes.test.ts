/**
 * The error-code registry (src/error-codes.ts) against the sources, after Fastify's error-code test: every code raised
 * anywhere in packages/ * /src and app/server is in the registry, every registry code is raised somewhere (no dead
 * codes), and each is documented (library codes in the client README's "Errors" table, app codes in app/README.md).
 * The scanner parses the sources with TypeScript's parser (no regex over text) and must find a sane number of sites,
 * so a rename of a raising helper cannot make it silently find nothing.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode, type LakebaseErrorCode } from '../src/error-codes.js';

const repo = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const registryFile = join(repo, 'packages/client/src/error-codes.ts');

/** What the sources raise: one entry per (code, file), with the rule that found it. */
interface RaiseSite {
  code: string;
  file: string;
  rule: string;
}

/** Callees that take a code, and the argument it is in: `new LakebaseError(code, ...)`, `errorLines(msg, code)`. */
const CODE_ARGUMENT: Readonly<Record<string, number>> = {
  LakebaseError: 0,
  AppError: 0,
  validationError: 2,
  errorLines: 1,
};

/** UPPER_SNAKE with at least one letter run: the shape of every code (and of nothing else we pass as a code). */
const CODE_SHAPE = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$/;
/**
 * For `{ code: 'X' }` only: a product code has an underscore, which Node's errno codes (`ETIMEDOUT`, in fake socket
 * errors) do not; Node's `ERR_*` codes are not ours either.
 */
const PROPERTY_CODE_SHAPE = /^(?!ERR_)[A-Z][A-Z0-9]*_[A-Z0-9_]+$/;
/** A type annotation that holds a code: `LakebaseErrorCode`, `ErrorCode`, `Record<string, LakebaseErrorCode>`... */
const CODE_TYPE = /\bErrorCode\b|\bLakebaseErrorCode\b/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

function scannedFiles(): string[] {
  const packages = readdirSync(join(repo, 'packages'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(repo, 'packages', entry.name, 'src'));
  return [...packages, join(repo, 'app/server')]
    .flatMap((dir) => {
      try {
        return sourceFiles(dir);
      } catch {
        return [];
      }
    })
    .filter((file) => file !== registryFile);
}

/** The string literals an expression can evaluate to: through `a ? 'X' : 'Y'`, `x ?? 'X'`, `'X' as const`, (...). */
function literalLeaves(node: ts.Node): ts.StringLiteralLike[] {
  if (ts.isStringLiteralLike(node)) return [node];
  if (ts.isParenthesizedExpression(node) || ts.isAsExpression(node) || ts.isSatisfiesExpression(node)) {
    return literalLeaves(node.expression);
  }
  if (ts.isConditionalExpression(node)) return [...literalLeaves(node.whenTrue), ...literalLeaves(node.whenFalse)];
  if (ts.isBinaryExpression(node)) {
    const op = node.operatorToken.kind;
    if (op === ts.SyntaxKind.QuestionQuestionToken || op === ts.SyntaxKind.BarBarToken) {
      return [...literalLeaves(node.left), ...literalLeaves(node.right)];
    }
  }
  return [];
}

/** Every literal anywhere inside a node (for a map or list typed as codes: `{ '28P01': 'LAKEBASE_LOGIN_FAILED' }`). */
function allLiterals(node: ts.Node): ts.StringLiteralLike[] {
  const out: ts.StringLiteralLike[] = [];
  const visit = (child: ts.Node): void => {
    if (ts.isStringLiteralLike(child) && !ts.isPropertyName(child.parent as never)) out.push(child);
    else if (ts.isPropertyAssignment(child)) visit(child.initializer);
    else ts.forEachChild(child, visit);
  };
  visit(node);
  return out;
}

function calleeName(node: ts.CallExpression | ts.NewExpression): string | undefined {
  const callee = node.expression;
  if (ts.isIdentifier(callee)) return callee.text;
  if (ts.isPropertyAccessExpression(callee)) return callee.name.text;
  return undefined;
}

/** The return type annotation of the function a `return` is in. */
function enclosingReturnType(node: ts.Node): ts.TypeNode | undefined {
  for (let current = node.parent; current; current = current.parent) {
    if (ts.isFunctionLike(current)) return current.type;
  }
  return undefined;
}

/**
 * The raise sites of one file. Rules (each must find something across the repo, see below):
 * - `call`: the code argument of LakebaseError / AppError / validationError / errorLines;
 * - `code-property`: `{ code: 'X' }` (a diagnose step's result, a classification);
 * - `typed-return`: `return 'X'` in a function declared to return a code type;
 * - `typed-value`: a variable, property or parameter default declared with a code type (maps of codes too).
 */
function raiseSites(file: string): RaiseSite[] {
  const text = readFileSync(file, 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const sites: RaiseSite[] = [];
  const add = (literals: ts.StringLiteralLike[], rule: string): void => {
    const shape = rule === 'code-property' ? PROPERTY_CODE_SHAPE : CODE_SHAPE;
    for (const literal of literals) {
      if (shape.test(literal.text)) sites.push({ code: literal.text, file: relative(repo, file), rule });
    }
  };
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) || ts.isNewExpression(node)) {
      const name = calleeName(node);
      const index = name === undefined ? undefined : CODE_ARGUMENT[name];
      const argument = index === undefined ? undefined : node.arguments?.[index];
      if (argument) add(literalLeaves(argument), 'call');
    } else if (ts.isPropertyAssignment(node) && ts.isIdentifier(node.name) && node.name.text === 'code') {
      add(literalLeaves(node.initializer), 'code-property');
    } else if (ts.isReturnStatement(node) && node.expression) {
      const type = enclosingReturnType(node);
      if (type && CODE_TYPE.test(type.getText(source))) add(literalLeaves(node.expression), 'typed-return');
    } else if (
      (ts.isVariableDeclaration(node) || ts.isPropertyDeclaration(node) || ts.isParameter(node)) &&
      node.type &&
      node.initializer &&
      CODE_TYPE.test(node.type.getText(source))
    ) {
      add(allLiterals(node.initializer), 'typed-value');
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return sites;
}

/** The codes in the first column of the client README's "## Errors" table. */
function clientReadmeCodes(): Set<string> {
  const readme = readFileSync(join(repo, 'packages/client/README.md'), 'utf8');
  const section = /^## Errors\n([\s\S]*?)^### /m.exec(readme)?.[1] ?? '';
  return new Set([...section.matchAll(/^\|\s*`([A-Z0-9_]+)`\s*\|/gm)].map((m) => m[1] as string));
}

/** Codes named in backticks anywhere in app/README.md. */
function appReadmeCodes(): Set<string> {
  const readme = readFileSync(join(repo, 'app/README.md'), 'utf8');
  return new Set([...readme.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1] as string));
}

describe('error-code registry', () => {
  const files = scannedFiles();
  const sites = files.flatMap(raiseSites);
  const registry = new Set<string>(Object.keys(ERROR_CODES));
  const entry = (code: string) => ERROR_CODES[code as ErrorCode];

  it('the scanner finds a sane number of raise sites, by every rule, in the client, the CLI and the app', () => {
    expect(files.length).toBeGreaterThan(80);
    expect(sites.length).toBeGreaterThan(100);
    const byRule = new Map<string, number>();
    for (const site of sites) byRule.set(site.rule, (byRule.get(site.rule) ?? 0) + 1);
    for (const rule of ['call', 'code-property', 'typed-return', 'typed-value']) {
      expect(byRule.get(rule) ?? 0, `rule ${rule}`).toBeGreaterThan(0);
    }
    for (const dir of ['packages/client/src/', 'packages/cli/src/', 'app/server/']) {
      expect(sites.filter((site) => site.file.startsWith(dir)).length, dir).toBeGreaterThan(2);
    }
    // A known site of each rule, so a rule that stops matching what it was written for is noticed.
    const has = (code: string, file: string, rule: string) =>
      sites.some((site) => site.code === code && site.file === file && site.rule === rule);
    expect(has('LAKEBASE_LOGIN_FAILED', 'packages/client/src/connection/database-errors.ts', 'typed-value')).toBe(true);
    expect(has('LAKEBASE_UNEXPECTED_ERROR', 'packages/client/src/connection/database-errors.ts', 'typed-return')).toBe(
      true,
    );
    expect(has('LAKEBASE_USAGE_ERROR', 'packages/cli/src/program.ts', 'call')).toBe(true);
    expect(has('PREFERENCE_NOT_FOUND', 'app/server/routes/preferences.ts', 'call')).toBe(true);
  });

  it('every code raised in packages/*/src and app/server is in the registry', () => {
    const unknown = sites.filter((site) => !registry.has(site.code)).map((s) => `${s.code} (${s.file}, ${s.rule})`);
    expect(unknown).toEqual([]);
  });

  it('every registry code is raised somewhere: library codes by the client or the CLI, app codes by the app', () => {
    const dead = [...registry].filter((code) => {
      const where = entry(code).scope === 'app' ? ['app/server/'] : ['packages/client/src/', 'packages/cli/src/'];
      return !sites.some((site) => site.code === code && where.some((dir) => site.file.startsWith(dir)));
    });
    expect(dead).toEqual([]);
  });

  it('a code raised outside the app is a library code (the app alone answers app codes)', () => {
    const misplaced = sites
      .filter((site) => !site.file.startsWith('app/') && registry.has(site.code) && entry(site.code).scope === 'app')
      .map((s) => `${s.code} (${s.file})`);
    expect(misplaced).toEqual([]);
  });

  it('every library code is in the client README error table, every app code in app/README.md', () => {
    const client = clientReadmeCodes();
    const app = appReadmeCodes();
    expect(client.size).toBeGreaterThan(20);
    const undocumented = [...registry].filter((code) => !(entry(code).scope === 'app' ? app : client).has(code));
    expect(undocumented).toEqual([]);
    const stale = [...client].filter((code) => !registry.has(code));
    expect(stale, 'codes in the README table that are not in the registry').toEqual([]);
  });

  it('LakebaseErrorCode is the library scope of the registry; every app code has its HTTP answer', () => {
    const library: LakebaseErrorCode = 'LAKEBASE_CLOSED';
    // @ts-expect-error an app code is not a code a LakebaseError can carry
    const app: LakebaseErrorCode = 'PREFERENCE_NOT_FOUND';
    expect([entry(library).scope, entry(app).scope]).toEqual(['library', 'app']);
    for (const [code, info] of Object.entries(ERROR_CODES)) {
      const status = (info as { http?: { status: number } }).http?.status;
      if (info.scope === 'app') expect(status, code).toBeDefined();
      if (status !== undefined) expect(status >= 400 && status < 600, code).toBe(true);
      expect(info.suggestion.length, code).toBeGreaterThan(0);
    }
  });
});
