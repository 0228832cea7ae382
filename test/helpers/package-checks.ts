/**
 * How a package looks to its consumers, checked on its `npm pack` tarball: `publint --strict` (the manifest, the
 * exports map, the files it names) and `@arethetypeswrong/cli` (types under node10, node16 CJS/ESM and bundler
 * resolution). One home for the check that the packaging, release and consumer tests all make.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../node_modules/.bin');

function run(command: string, args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, timeout: 90_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) || 1 : 0, output: `${stdout}${stderr}` }),
    );
  });
}

/** What publint and attw report against `tarball`, each tool's whole output when it found a problem; [] when clean. */
export async function packageProblems(tarball: string, cwd: string): Promise<string[]> {
  const problems: string[] = [];
  const lint = await run(path.join(BIN, 'publint'), ['run', tarball, '--strict'], cwd);
  if (lint.code !== 0 || !lint.output.includes('All good!')) problems.push(`publint: ${lint.output}`);
  const types = await run(path.join(BIN, 'attw'), [tarball, '--format', 'ascii'], cwd);
  if (types.code !== 0 || !types.output.includes('No problems found')) problems.push(`attw: ${types.output}`);
  return problems;
}

/** The attw table of `tarball` (to check which entries it resolved). */
export async function typesReport(tarball: string, cwd: string): Promise<string> {
  return (await run(path.join(BIN, 'attw'), [tarball, '--format', 'ascii'], cwd)).output;
}
