/**
 * Per-user mode from the shell: `lakebase grant --to <group> --members ...` sets up the group role (twice: the second
 * run changes nothing), and `lakebase doctor --as-user` checks a user's token: the postgres scope, the user's role,
 * and row-level security on the tables the user can read. Against the emulator storing into the test PostgreSQL.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_URL, startTestBed, type TestBed } from './fixture.js';

let bed: TestBed;
let cwd: string;
const id = `${process.pid}_${Math.floor(Math.random() * 1e6)}`;
const group = `pu_group_${id}`;
const ann = `ann-${id}@example.com`;
const ben = `ben-${id}@example.com`;

beforeAll(async () => {
  bed = await startTestBed();
  cwd = await bed.newDir();
});
afterAll(async () => {
  await bed?.stop();
  // Roles are cluster-wide: drop the ones this file made (their privileges went with the bed's database).
  const admin = new pg.Client(ADMIN_URL);
  await admin.connect();
  for (const role of [ann, ben, `cy-${id}@example.com`, `dee-${id}@example.com`, group]) {
    await admin.query(`DROP ROLE IF EXISTS "${role}"`);
  }
  await admin.end();
});

describe('per-user mode in the CLI', () => {
  it('grant --members makes the group, grants it the tables and adds users, idempotently; doctor --as-user checks a user', async () => {
    const tokens = {
      ann: (await bed.emulator.workspace.issueUserToken(ann)).access_token,
      ben: (await bed.emulator.workspace.issueUserToken(ben)).access_token,
      noScope: (await bed.emulator.workspace.issueUserToken(`cy-${id}@example.com`, { scopes: ['sql'] })).access_token,
      noRole: (await bed.emulator.workspace.issueUserToken(`dee-${id}@example.com`, { role: false })).access_token,
    };
    const sql = [
      `create table notes_${id} (owner text not null default current_user, body text)`,
      `create table open_${id} (body text)`,
    ];
    for (const statement of sql) {
      const made = await bed.lakebase(['psql', '--', '-c', statement], { cwd, env: bed.env() });
      expect(made.stderr).toBe('');
    }

    const grant = await bed.lakebase(['grant', '--to', group, '--members', `${ann},${ben}`], { cwd, env: bed.env() });
    expect(grant.stderr).toBe('');
    expect(grant.code).toBe(0);
    expect(grant.stdout).toContain(`Created group role ${group}; granted it read/write access on schema public`);
    expect(grant.stdout).toContain(`  added ${ann}`);
    const again = await bed.lakebase(['grant', '--to', group, '--members', `${ann},${ben}`, '--json'], {
      cwd,
      env: bed.env(),
    });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ createdGroup: false, added: [], alreadyMembers: [ann, ben] });

    // Both tables are readable by ann through the group, and neither has row-level security yet.
    const unguarded = await bed.lakebase(['doctor', '--as-user'], {
      cwd,
      env: bed.env('provisioned', { LAKEBASE_USER_TOKEN: tokens.ann }),
    });
    expect(unguarded.code).toBe(1);
    expect(unguarded.stdout).toMatch(/^✓ user-scope /m);
    expect(unguarded.stdout).toMatch(new RegExp(`^✓ user-role .*logged in as ${ann}`, 'm'));
    expect(unguarded.stdout).toMatch(new RegExp(`^✗ row-security .*public.notes_${id}, public.open_${id}`, 'm'));

    for (const statement of [
      `alter table notes_${id} enable row level security`,
      `create policy own on notes_${id} using (owner = current_user)`,
      `revoke all on open_${id} from ${group}`,
    ]) {
      const done = await bed.lakebase(['psql', '--', '-c', statement], { cwd, env: bed.env() });
      expect(done.stderr).toBe('');
    }
    const guarded = await bed.lakebase(['doctor', '--as-user'], {
      cwd,
      env: bed.env('provisioned', { LAKEBASE_USER_TOKEN: tokens.ann }),
    });
    expect(guarded.stderr).toBe('');
    expect(guarded.code).toBe(0);
    expect(guarded.stdout).toMatch(/^✓ row-security .*row-level security is on for every table of public/m);

    const noScope = await bed.lakebase(['doctor', '--as-user'], {
      cwd,
      env: bed.env('provisioned', { LAKEBASE_USER_TOKEN: tokens.noScope }),
    });
    expect(noScope.code).toBe(1);
    expect(noScope.stdout).toMatch(/^✗ user-scope .*postgres. scope/m);
    expect(noScope.stderr).toContain('[LAKEBASE_PERMISSION_DENIED]');
    const noRole = await bed.lakebase(['doctor', '--as-user'], {
      cwd,
      env: bed.env('provisioned', { LAKEBASE_USER_TOKEN: tokens.noRole }),
    });
    expect(noRole.code).toBe(1);
    expect(noRole.stdout).toMatch(/^✓ user-scope /m);
    expect(noRole.stdout).toMatch(/^✗ user-role /m);
    expect(noRole.stderr).toContain('[LAKEBASE_ROLE_NOT_FOUND]');
    for (const result of [grant, again, unguarded, guarded, noScope, noRole]) {
      for (const token of Object.values(tokens)) expect(result.stdout + result.stderr).not.toContain(token);
    }
  });
});
