/**
 * A test bed for the database commands: an emulator in-process, storing into a fresh PostgreSQL database of its own
 * (so tests in other files never see our tables or migration history), a temporary working directory and HOME, and a
 * runner for the built CLI with an environment built only from the emulator (never the developer's own).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type Emulator, startEmulator } from '@lakebase-kit/emulator';
import pg from 'pg';
import { BIN, runCommand } from './helpers.js';

export const ADMIN_URL = 'postgresql://postgres@127.0.0.1:5432/test';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface TestBed {
  emulator: Emulator;
  home: string;
  /** A fresh empty working directory. */
  newDir(): Promise<string>;
  /** The emulator's environment for a tier (PAT auth, libpq settings, the resource), with HOME and PATH. */
  env(tier?: 'provisioned' | 'autoscaling', extra?: Record<string, string | undefined>): NodeJS.ProcessEnv;
  /** Workspace auth and TLS settings only: what a developer has before `lakebase configure`. */
  authOnlyEnv(extra?: Record<string, string | undefined>): NodeJS.ProcessEnv;
  /** Runs `lakebase ...args` to completion. */
  lakebase(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<CliResult>;
  /** Every secret the emulator handed out so far is absent from `text`. */
  assertNoSecrets(text: string): void;
  stop(): Promise<void>;
}

export async function startTestBed(options: { instanceStartMs?: number } = {}): Promise<TestBed> {
  const database = `lakebase_cli_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client(ADMIN_URL);
  await admin.connect();
  await admin.query(`create database ${database}`);
  await admin.end();
  const emulator = await startEmulator({
    apiPort: 0,
    pgPort: 0,
    upstream: `postgresql://postgres@127.0.0.1:5432/${database}`,
    ...(options.instanceStartMs === undefined ? {} : { instanceStartMs: options.instanceStartMs }),
  });
  const home = await mkdtemp(path.join(os.tmpdir(), 'lakebase-cli-home-'));
  const dirs: string[] = [home];
  const base = (): NodeJS.ProcessEnv => ({ HOME: home, PATH: process.env.PATH, LANG: 'C.UTF-8' });
  const bed: TestBed = {
    emulator,
    home,
    async newDir() {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'lakebase-cli-cwd-'));
      dirs.push(dir);
      return dir;
    },
    env: (tier = 'provisioned', extra = {}) => ({ ...base(), ...emulator.env(tier), ...extra }),
    authOnlyEnv: (extra = {}) => {
      const env = emulator.env();
      return {
        ...base(),
        DATABRICKS_HOST: env.DATABRICKS_HOST,
        DATABRICKS_TOKEN: env.DATABRICKS_TOKEN,
        PGPORT: env.PGPORT,
        PGSSLMODE: env.PGSSLMODE,
        PGSSLROOTCERT: env.PGSSLROOTCERT,
        ...extra,
      };
    },
    lakebase: (args, { cwd, env }) => runCommand(process.execPath, [BIN, ...args], { cwd, env }),
    assertNoSecrets(text) {
      for (const secret of [emulator.databricksToken, emulator.clientSecret]) {
        if (text.includes(secret)) throw new Error('a workspace secret leaked into output');
      }
      if (/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]+\./.test(text)) throw new Error('a JWT leaked into output');
    },
    async stop() {
      await emulator.stop();
      for (const dir of dirs) await rm(dir, { recursive: true, force: true });
      const cleanup = new pg.Client(ADMIN_URL);
      await cleanup.connect();
      await cleanup.query(`drop database if exists ${database} with (force)`);
      await cleanup.end();
    },
  };
  return bed;
}

/** Creates a Provisioned instance through the emulator's REST API (as `databricks database create-...` would). */
export async function createInstance(emulator: Emulator, name: string): Promise<void> {
  const response = await fetch(`${emulator.databricksHost}/api/2.0/database/instances`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${emulator.databricksToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name, capacity: 'CU_1' }),
  });
  if (!response.ok) throw new Error(`create instance ${name}: HTTP ${response.status} ${await response.text()}`);
}
