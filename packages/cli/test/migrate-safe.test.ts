/**
 * `lakebase migrate up --safe` and `lakebase migrate check` against the emulator: a backup branch before migrating a
 * protected branch, the printed restore command run as printed, and a check that never touches its target.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { withClient } from '@lakebase-kit/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, startTestBed, type TestBed } from './fixture.js';

let bed: TestBed;
let dir: string;

function lakebase(...args: string[]): Promise<CliResult> {
  return bed.lakebase(args, { cwd: dir, env: bed.env('autoscaling') });
}
async function values(branch: string, sql: string): Promise<string[]> {
  return withClient({ env: { ...bed.env('autoscaling'), LAKEBASE_BRANCH: branch } }, async (client) =>
    (await client.query(sql)).rows.map((r) => String(Object.values(r)[0])),
  );
}
async function tables(branch: string): Promise<string[]> {
  return values(branch, `select tablename from pg_tables where schemaname = 'public' order by 1`);
}
async function migrations(files: Record<string, string>): Promise<void> {
  await mkdir(path.join(dir, 'migrations'), { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, 'migrations', name), text);
}

beforeAll(async () => {
  bed = await startTestBed();
  dir = await bed.newDir();
  await withClient({ env: bed.env('autoscaling') }, (client) =>
    client.query(`create table notes (v text); insert into notes values ('one'), ('two'), ('three')`),
  );
  expect((await lakebase('branch', 'create', 'staging', '--protected')).code).toBe(0);
}, 60_000);
afterAll(async () => {
  await bed?.stop();
});

describe('lakebase migrate check', { timeout: 90_000 }, () => {
  it('runs the pending migrations on a throwaway copy, reports the diff, and leaves the target as it was', async () => {
    await migrations({
      '1000000000001_archive.sql':
        "-- Up Migration\ncreate table archive (v text);\ninsert into archive select v from notes where v <> 'one';\ndelete from notes where v <> 'one';\n-- Down Migration\ndrop table archive;\n",
    });
    const check = await lakebase('migrate', 'check', '--branch', 'staging');
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);
    const [first, ...diff] = check.stdout.split('\n');
    expect(first).toMatch(
      /^1 migration apply cleanly: 1000000000001_archive \(\d+ ms on a copy of staging; staging-check-\d{8}t\d{6}z deleted, staging untouched\)\.$/,
    );
    expect(diff).toContain('+ table public.archive: table');
    expect(diff).toContain('+ column public.archive.v: text null');
    expect(diff.filter((line) => line.startsWith('- '))).toEqual([]);
    expect(diff).toContain('+ table public.pgmigrations: table');
    expect(await tables('staging')).toEqual(['notes']);
    const listed = JSON.parse((await lakebase('branch', 'list', '--json')).stdout);
    expect(listed.map((b: { id: string }) => b.id)).toEqual(['production', 'staging']);
  });

  it('a failing migration fails the check (exit 1, its code), and the copy is still deleted', async () => {
    await migrations({
      '1000000000002_broken.sql': '-- Up Migration\nselect * from no_such_table;\n-- Down Migration\n',
    });
    const check = await lakebase('migrate', 'check', '--branch', 'staging', '--json');
    expect(check.code).toBe(1);
    const report = JSON.parse(check.stdout);
    expect(report).toMatchObject({
      target: 'staging',
      ok: false,
      diff: null,
      error: { code: 'LAKEBASE_MIGRATION_FAILED' },
    });
    expect(report.applied).toEqual(['1000000000001_archive']); // applied on the copy before the failing one
    const listed = JSON.parse((await lakebase('branch', 'list', '--json')).stdout);
    expect(listed.map((b: { id: string }) => b.id)).toEqual(['production', 'staging']);
    expect(await tables('staging')).toEqual(['notes']);
  });
});

describe('lakebase migrate up --safe', { timeout: 90_000 }, () => {
  it('backs up the protected branch, keeps the backup on failure, prints the restore command, which restores', async () => {
    // The first migration moves rows out of notes and is applied; the second fails and is rolled back.
    const up = await lakebase('migrate', 'up', '--safe', '--branch', 'staging', '--backup-ttl', '3d');
    expect(up.code).toBe(1);
    const backup =
      /^Backup: branch (staging-before-1000000000001-archive-\d{8}t\d{6}z) \(staging before 1000000000001_archive, at LSN [0-9A-F]+\/[0-9A-F]+; expires in 3d\)\.$/m.exec(
        up.stdout,
      )?.[1] as string;
    expect(backup).toBeDefined();
    expect(up.stderr).toContain('[LAKEBASE_MIGRATION_FAILED]');
    expect(up.stderr).toContain(`The backup branch ${backup} has staging as it was before this run; it is kept.`);
    const restore = /^restore: (.+)$/m.exec(up.stderr)?.[1] as string;
    expect(restore).toBe(`lakebase branch reset staging --from ${backup} --force`);

    expect(await values('staging', 'select v from notes order by v')).toEqual(['one']);
    const info = JSON.parse((await lakebase('branch', 'info', backup, '--json')).stdout);
    expect(Date.parse(info.expireTime) - Date.now()).toBeGreaterThan(2.9 * 86_400_000);
    expect(await values(backup, 'select v from notes order by v')).toEqual(['one', 'three', 'two']);

    const [command, ...args] = restore.split(' ');
    expect(command).toBe('lakebase');
    const restored = await lakebase(...args);
    expect(restored.stderr).toBe('');
    expect(restored.code).toBe(0);
    expect(await values('staging', 'select v from notes order by v')).toEqual(['one', 'three', 'two']);
    expect(await tables('staging')).toEqual(['notes']);
    expect(JSON.parse((await lakebase('branch', 'info', 'staging', '--json')).stdout)).toMatchObject({
      protected: true,
      parent: `projects/lakebase-emulator/branches/${backup}`,
    });
  });

  it('on the default branch the restore points the app at the backup; a development branch gets no backup', async () => {
    const up = await lakebase('migrate', 'up', '--safe', '--json');
    expect(up.code).toBe(1);
    const restore = /^restore: (.+)$/m.exec(up.stderr)?.[1] as string;
    expect(restore).toMatch(/^lakebase checkout production-before-1000000000001-archive-\d{8}t\d{6}z$/);
    expect(up.stderr).toContain('production is the default branch, which cannot be reset');

    await lakebase('branch', 'create', 'dev-safe');
    await writeFile(
      path.join(dir, 'migrations', '1000000000002_broken.sql'),
      '-- Up Migration\nselect 1;\n-- Down Migration\n',
    );
    const dev = await lakebase('migrate', 'up', '--safe', '--branch', 'dev-safe', '--json');
    expect(dev.code).toBe(0);
    expect(JSON.parse(dev.stdout)).toMatchObject({
      backup: null,
      migrations: ['1000000000002_broken'], // dev-safe is a copy of production, where the first one is applied
    });
  });
});
