import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built server, exactly what `npm start` runs. Tests that spawn it need `npm run build` first. */
export const MAIN_JS = fileURLToPath(new URL('../dist/server/main.js', import.meta.url));
export const BUILT_INDEX_HTML = fileURLToPath(new URL('../dist/web/index.html', import.meta.url));

export function assertBuilt(): void {
  for (const file of [MAIN_JS, BUILT_INDEX_HTML]) {
    if (!existsSync(file))
      throw new Error(`${file} is missing: run \`npm run build\` (or \`npm run build -w lakebase-app\`) first.`);
  }
}

export interface SpawnedServer {
  url: string;
  process: ChildProcess;
  /** Everything the server printed so far. */
  output(): string;
  /** SIGTERM, then wait for the exit. */
  stop(): Promise<void>;
}

let initCwd: string | undefined;
function isolatedInitCwd(): string {
  initCwd ??= mkdtempSync(path.join(tmpdir(), 'lakebase-app-test-'));
  return initCwd;
}

/**
 * Start `node app/dist/server/main.js` (or another build of it, `main`) with a clean environment (no Lakebase,
 * Databricks or PG* variables from the caller) plus `env`, and resolve once it logs its URL. PORT defaults to 0 (a
 * free port).
 */
export function spawnServer(
  env: Record<string, string>,
  { timeoutMs = 45_000, main = MAIN_JS }: { timeoutMs?: number; main?: string } = {},
): Promise<SpawnedServer> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !/^(PG|LAKEBASE_|DATABRICKS_|DB_POOL|MIGRATE_ON_START$|NODE_ENV$)/.test(name),
    ),
  );
  const child = spawn(process.execPath, [main], {
    // INIT_CWD is where the server reads .env.local from outside production: an empty directory, so a developer's own
    // .env.local (lakebase configure at the repository root) never reaches a test's server.
    env: { ...clean, INIT_CWD: isolatedInitCwd(), PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"url":"(http:\/\/[^"]+)"[^\n]*"msg":"lakebase app listening"/.exec(output);
      if (!match?.[1]) return;
      clearTimeout(timer);
      resolve({
        url: match[1],
        process: child,
        output: () => output,
        stop: async () => {
          if (child.exitCode === null) child.kill('SIGTERM');
          await exited;
        },
      });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with code ${code} before listening:\n${output}`));
    });
  });
}
