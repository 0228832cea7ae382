import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, runCommand } from './helpers.js';

/**
 * The CLI reads its settings in the one order every entry point uses: `.env`, then `.env.local`, then the environment,
 * an empty variable being unset at every level. Observed through `doctor`'s config step on a static URL (the local
 * PostgreSQL): a malformed PGCONNECT_TIMEOUT there is LAKEBASE_CONFIG_INVALID naming it, a valid one passes.
 */
const URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function project(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lakebase-cli-env-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return dir;
}

/** The config step of `lakebase doctor --json` run in `cwd` with only `env` of the caller's Lakebase settings. */
async function configStep(cwd: string, env: Record<string, string> = {}) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(PG|LAKEBASE_|DATABRICKS_|DB_POOL|DB_MAX)/.test(name)),
  );
  const { stdout } = await runCommand(process.execPath, [BIN, 'doctor', '--json'], { cwd, env: { ...clean, ...env } });
  const report = JSON.parse(stdout) as { steps: { name: string; ok: boolean; code?: string; detail: string }[] };
  return report.steps.find((step) => step.name === 'config');
}

describe('lakebase: .env, then .env.local, then the environment', () => {
  it('a setting only in .env.local is read; the environment beats it; it beats .env; blank is unset', async () => {
    const local = await project({ '.env.local': `LAKEBASE_PG_URL=${URL}\nPGCONNECT_TIMEOUT=0x10\n` });
    const [fromLocal, fromShell, blankShell] = await Promise.all([
      configStep(local),
      configStep(local, { PGCONNECT_TIMEOUT: '5' }),
      configStep(local, { PGCONNECT_TIMEOUT: ' ' }),
    ]);
    expect(fromLocal).toMatchObject({ ok: false, code: 'LAKEBASE_CONFIG_INVALID' });
    expect(fromLocal?.detail).toContain('PGCONNECT_TIMEOUT');
    expect(fromShell).toMatchObject({ ok: true });
    // A blank variable in the shell is unset: it does not hide .env.local's value.
    expect(blankShell).toMatchObject({ ok: false, code: 'LAKEBASE_CONFIG_INVALID' });

    const layered = await project({
      '.env': `LAKEBASE_PG_URL=${URL}\nPGCONNECT_TIMEOUT=0x10\n`,
      '.env.local': 'PGCONNECT_TIMEOUT=5\n',
    });
    expect(await configStep(layered)).toMatchObject({ ok: true });
  });
});
