/**
 * What every database command shares: the environment (process env over `.env.local` over `.env`), a quiet logger,
 * progress lines that only appear on a terminal, and the options every database command connects with.
 */
import { type ConnectorOptions, type LakebaseLogger, loadEnvFiles } from '@lakebase-kit/client';
import { LakebaseApi, resolveWorkspaceConfig, WorkspaceAuth } from '@lakebase-kit/client/toolkit';

export type Env = Record<string, string | undefined>;

let branchFlag: string | undefined;

/** Records a command's `--branch` flag; {@link commandEnv} passes it on as LAKEBASE_BRANCH. */
export function selectBranch(branch: unknown): void {
  branchFlag = typeof branch === 'string' ? branch : undefined;
}

/**
 * The environment a command runs with; `.env.local` and `.env` never override variables already set. A `--branch`
 * flag overrides LAKEBASE_BRANCH.
 */
export async function commandEnv(cwd = process.cwd()): Promise<Env> {
  const env = (await loadEnvFiles(cwd, process.env)).env;
  return branchFlag ? { ...env, LAKEBASE_BRANCH: branchFlag } : env;
}

/**
 * Library warnings (e.g. a failed token refresh) go to stderr as one line each, and so does each login retried while
 * a scaled-to-zero endpoint wakes (the library logs those at info level with `event: 'login-retry'`).
 */
export const stderrLogger: LakebaseLogger = {
  warn: (message) => process.stderr.write(`warning: ${message}\n`),
  info: (_message, fields) => {
    if (fields?.event !== 'login-retry') return;
    const code = typeof fields.code === 'string' ? ` (${fields.code})` : '';
    process.stderr.write(
      `waking the endpoint: login refused${code}, retrying in ${fields.delayMs} ms (attempt ${fields.attempt})\n`,
    );
  },
};

/** CI runners set `CI` (some give jobs a terminal all the same). */
const inCi = Boolean(process.env.CI) && process.env.CI !== 'false';

/** Progress for long waits: shown on a terminal, silent in CI and pipes. */
export function progress(message: string): void {
  if (process.stderr.isTTY && !inCi) process.stderr.write(`${message}\n`);
}

/** The Databricks REST client for the workspace in `env`, before any Lakebase resource is configured. */
export function workspaceApi(env: Env): LakebaseApi {
  const workspace = resolveWorkspaceConfig({}, env);
  const auth = new WorkspaceAuth(workspace);
  return new LakebaseApi(auth, { workspaceId: workspace.workspaceId });
}

/** The connection options of a database command: its environment and warnings on stderr. */
export async function commandOptions(): Promise<ConnectorOptions> {
  return { env: await commandEnv(), logger: stderrLogger };
}

/**
 * Resolves on the first SIGINT/SIGTERM. The handlers stay: a repeat (Ctrl-C reaches npx and us, and npx forwards it)
 * must not kill the process while it flushes the data dir (the emulator) or drains its clients (the proxy).
 */
export function waitForShutdownSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.on('SIGINT', () => resolve());
    process.on('SIGTERM', () => resolve());
  });
}
