/** `lakebase migrate` and `lakebase tables` against the emulator (real PostgreSQL storage, so advisory locks are real). */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, startTestBed, type TestBed } from './fixture.js';

let bed: TestBed;

beforeAll(async () => {
  bed = await startTestBed();
});
afterAll(async () => {
  await bed?.stop();
});

/** A project directory with `migrations/` holding the given files. */
async function project(files: Record<string, string>): Promise<string> {
  const dir = await bed.newDir();
  await mkdir(path.join(dir, 'migrations'));
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, 'migrations', name), text);
  return dir;
}

function lakebase(dir: string, ...args: string[]): Promise<CliResult> {
  return bed.lakebase(args, { cwd: dir, env: bed.env() });
}

/** One value from the database, through `lakebase psql`. */
async function sql(dir: string, query: string): Promise<string> {
  const result = await lakebase(dir, 'psql', '--', '-At', '-v', 'ON_ERROR_STOP=1', '-c', query);
  expect(result.stderr).toBe('');
  return result.stdout.trim();
}

describe('lakebase migrate', () => {
  it('create, up, status, history, tables, down, up again; an edited applied migration is reported', async () => {
    const dir = await project({});
    const created = await lakebase(dir, 'migrate', 'create', 'create-notes', '--json');
    expect(created.code).toBe(0);
    const first = JSON.parse(created.stdout).file as string;
    expect(path.basename(first)).toMatch(/^\d{13}_create-notes\.sql$/);
    await writeFile(
      first,
      '-- Up Migration\ncreate table notes (id serial primary key, body text not null);\n\n-- Down Migration\ndrop table notes;\n',
    );
    await writeFile(
      path.join(dir, 'migrations', '9999999999999_add-tags.sql'),
      '-- Up Migration\ncreate table tags (note_id int references notes(id), tag text);\ncreate view tagged as select * from tags;\n' +
        '-- Down Migration\ndrop view tagged;\ndrop table tags;\n',
    );
    const firstName = path.basename(first, '.sql');

    const up = await lakebase(dir, 'migrate', 'up');
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    expect(up.stdout).toBe(
      `Applied 2 migrations: ${firstName}, 9999999999999_add-tags. Current: 9999999999999_add-tags.\n`,
    );

    const status = await lakebase(dir, 'migrate', 'status', '--json');
    expect(JSON.parse(status.stdout)).toEqual({ current: '9999999999999_add-tags', pending: [], edited: [] });
    const again = await lakebase(dir, 'migrate', 'up');
    expect(again.stdout).toBe('Nothing to apply. Current: 9999999999999_add-tags.\n');

    const history = await lakebase(dir, 'migrate', 'history');
    expect(history.code).toBe(0);
    expect(history.stdout).toMatch(new RegExp(`applied +${firstName} +\\d{4}-`));
    expect(history.stdout).toMatch(/applied +9999999999999_add-tags +\S+ \(current\)/);

    const tables = await lakebase(dir, 'tables');
    expect(tables.code).toBe(0);
    expect(tables.stdout).toMatch(/public\.notes +table/);
    expect(tables.stdout).toMatch(/public\.tagged +view/);
    expect(tables.stdout).toMatch(/public\.pgmigrations +table/);
    const tablesJson = JSON.parse((await lakebase(dir, 'tables', '--schema', 'public', '--json')).stdout) as {
      name: string;
      type: string;
    }[];
    expect(tablesJson.map((t) => t.name)).toEqual([
      'lakebase_migration_checksums',
      'notes',
      'pgmigrations',
      'tagged',
      'tags',
    ]);

    const down = await lakebase(dir, 'migrate', 'down');
    expect(down.code).toBe(0);
    expect(down.stdout).toBe(`Reverted 1 migration: 9999999999999_add-tags. Current: ${firstName}.\n`);
    expect(await sql(dir, "select to_regclass('tags') is null")).toBe('t');
    expect(await sql(dir, 'select count(*) from lakebase_migration_checksums')).toBe('1');
    const pending = await lakebase(dir, 'migrate', 'status');
    expect(pending.stdout).toContain(`Current: ${firstName} (1 applied, 1 pending)`);
    expect(pending.stdout).toMatch(/pending +9999999999999_add-tags +not applied/);

    // Edit the applied migration: status and up both say so; the edit is not re-run.
    await writeFile(
      first,
      '-- Up Migration\ncreate table notes (id serial primary key, body text not null, extra int);\n\n-- Down Migration\ndrop table notes;\n',
    );
    const edited = await lakebase(dir, 'migrate', 'status');
    expect(edited.stdout).toMatch(new RegExp(`edited +${firstName}`));
    expect(edited.stdout).toContain(`warning: ${firstName} changed after being applied`);
    const upAfterEdit = await lakebase(dir, 'migrate', 'up', '--json');
    expect(upAfterEdit.code).toBe(0);
    expect(upAfterEdit.stderr).toContain(`warning: applied migration ${firstName} was edited after it was applied`);
    expect(JSON.parse(upAfterEdit.stdout)).toMatchObject({
      migrations: ['9999999999999_add-tags'],
      current: '9999999999999_add-tags',
    });
    bed.assertNoSecrets(
      up.stdout + status.stdout + history.stdout + tables.stdout + edited.stdout + upAfterEdit.stderr,
    );
  });

  it('up N and down N move by N; --dir names another directory; history --json', async () => {
    const dir = await bed.newDir();
    await mkdir(path.join(dir, 'db', 'changes'), { recursive: true });
    const step = (n: number) =>
      `-- Up Migration\ncreate table step_${n} (id int);\n-- Down Migration\ndrop table step_${n};\n`;
    for (const n of [1, 2, 3]) await writeFile(path.join(dir, 'db', 'changes', `${n}_step-${n}.sql`), step(n));
    const inSchema = (...args: string[]) =>
      lakebase(dir, 'migrate', ...args, '--dir', 'db/changes', '--schema', 'steps');

    const upTwo = await inSchema('up', '2', '--json');
    expect([upTwo.code, upTwo.stderr]).toEqual([0, '']);
    expect(JSON.parse(upTwo.stdout)).toMatchObject({ migrations: ['1_step-1', '2_step-2'], current: '2_step-2' });
    const upRest = await inSchema('up', '--json');
    expect(JSON.parse(upRest.stdout)).toMatchObject({ migrations: ['3_step-3'], current: '3_step-3' });

    const downTwo = await inSchema('down', '2', '--json');
    expect(downTwo.code).toBe(0);
    expect(JSON.parse(downTwo.stdout)).toMatchObject({ migrations: ['3_step-3', '2_step-2'], current: '1_step-1' });
    expect(await sql(dir, "select to_regclass('steps.step_1') is not null, to_regclass('steps.step_2') is null")).toBe(
      't|t',
    );

    const history = await inSchema('history', '--json');
    expect(history.code).toBe(0);
    const rows = JSON.parse(history.stdout) as { name: string; status: string }[];
    expect(rows.map((row) => [row.name, row.status])).toEqual([
      ['1_step-1', 'applied'],
      ['2_step-2', 'pending'],
      ['3_step-3', 'pending'],
    ]);
  });

  it('two concurrent `migrate up` runs apply each migration exactly once', async () => {
    const slow = (n: number) =>
      `-- Up Migration\n${n === 1 ? 'create table race_log (n int primary key);\n' : ''}select pg_sleep(0.3);\ninsert into race_log values (${n});\n-- Down Migration\n`;
    const dir = await project({ '1_one.sql': slow(1), '2_two.sql': slow(2), '3_three.sql': slow(3) });
    const [a, b] = await Promise.all([
      lakebase(dir, 'migrate', 'up', '--schema', 'race', '--json'),
      lakebase(dir, 'migrate', 'up', '--schema', 'race', '--json'),
    ]);
    expect([a.code, b.code, a.stderr, b.stderr]).toEqual([0, 0, '', '']);
    const applied = [JSON.parse(a.stdout).migrations, JSON.parse(b.stdout).migrations].sort(
      (x, y) => y.length - x.length,
    );
    expect(applied).toEqual([['1_one', '2_two', '3_three'], []]);
    expect(await sql(dir, "select string_agg(n::text, ',' order by n) from race.race_log")).toBe('1,2,3');
    expect(await sql(dir, 'select count(*) from race.pgmigrations')).toBe('3');
  });

  it('a syntax error names the file and line, and leaves nothing of that migration applied', async () => {
    const dir = await project({
      '1_good.sql': '-- Up Migration\ncreate table good (id int);\n-- Down Migration\ndrop table good;\n',
      '2_bad.sql':
        '-- Up Migration\ncreate table half (id int);\ninsert into half values (1);\nCREAT TABLE oops (id int);\n-- Down Migration\ndrop table half;\n',
      '3_later.sql': '-- Up Migration\ncreate table later (id int);\n',
    });
    const result = await lakebase(dir, 'migrate', 'up', '--schema', 'broken');
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(
      /^error: Migration 2_bad\.sql line 4 failed: syntax error at or near "CREAT" \(SQLSTATE 42601\)\. It was rolled back\. \[LAKEBASE_MIGRATION_FAILED\]\nfix: Fix migrations\/2_bad\.sql:4 /,
    );
    expect(await sql(dir, "select to_regclass('broken.half') is null and to_regclass('broken.later') is null")).toBe(
      't',
    );
    expect(await sql(dir, "select to_regclass('broken.good') is not null")).toBe('t');
    expect(await sql(dir, "select string_agg(name, ',') from broken.pgmigrations")).toBe('1_good');

    // The lock was released: fixing the file lets the next run finish.
    await writeFile(path.join(dir, 'migrations', '2_bad.sql'), '-- Up Migration\ncreate table half (id int);\n');
    const fixed = await lakebase(dir, 'migrate', 'up', '--schema', 'broken');
    expect(fixed.code).toBe(0);
    expect(fixed.stdout).toContain('Applied 2 migrations: 2_bad, 3_later.');
  });

  it('a missing migrations directory and a bad count are clear errors', async () => {
    const dir = await bed.newDir();
    const missing = await lakebase(dir, 'migrate', 'up');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(
      /^error: Migrations directory .*migrations does not exist\. \[LAKEBASE_CONFIG_INVALID\]\nfix: /,
    );
    const badCount = await lakebase(dir, 'migrate', 'down', 'two');
    expect(badCount.code).toBe(1);
    expect(badCount.stderr).toMatch(
      /^error: .*expected a whole number from 1 to 1000000, got 'two'\. \[LAKEBASE_USAGE_ERROR\]\nfix: Run `lakebase migrate down --help` for its options and an example\.\n$/,
    );
    expect(await readdir(dir)).toEqual([]);
  });
});
