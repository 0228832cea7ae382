/** diffBranches against the emulator: two real branch copies, read from their own catalogs over their own sessions. */
import type { Emulator } from '@lakebase-kit/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LakebaseBranches, withClient } from '../src/index.js';
import { diffBranches } from '../src/toolkit.js';
import { startWarmEmulator } from './helpers/emulator.js';

let emulator: Emulator;
let env: Record<string, string | undefined>;

async function sql(branch: string, text: string): Promise<void> {
  await withClient({ env: { ...env, LAKEBASE_BRANCH: branch } }, (client) => client.query(text));
}

beforeAll(async () => {
  emulator = await startWarmEmulator();
  env = emulator.env('autoscaling');
  await sql(
    'production',
    `create table notes (id serial primary key, owner text not null, body varchar(100));
     create index notes_body_idx on notes (body);
     alter table notes enable row level security;
     create view note_owners as select distinct owner from notes;
     insert into notes (owner, body) values ('ann', 'hello'), ('bob', 'hi')`,
  );
  const branches = new LakebaseBranches({ env });
  await branches.create('same', { wait: { pollMs: 10 } });
  await branches.create('dev-diff', { wait: { pollMs: 10 } });
  await sql(
    'dev-diff',
    `alter table notes add column tags text[] default '{}';
     alter table notes alter column body type text;
     drop index notes_body_idx;
     create policy own_notes on notes using (owner = current_user);
     insert into notes (owner, body) values ('cy', 'yo')`,
  );
}, 60_000);
afterAll(async () => {
  await emulator?.stop();
});

describe('diffBranches', () => {
  it('finds exactly the four changes: a column added, a type changed, an index dropped, a policy added', async () => {
    const diff = await diffBranches('production', 'dev-diff', { env });
    expect(diff).toEqual({
      base: 'production',
      compare: 'dev-diff',
      equal: false,
      changes: [
        {
          kind: 'column',
          name: 'public.notes.body',
          change: 'changed',
          base: 'character varying(100) null',
          compare: 'text null',
        },
        { kind: 'column', name: 'public.notes.tags', change: 'added', compare: "text[] null default '{}'::text[]" },
        {
          kind: 'index',
          name: 'public.notes_body_idx',
          change: 'removed',
          base: 'CREATE INDEX notes_body_idx ON public.notes USING btree (body)',
        },
        {
          kind: 'policy',
          name: 'public.notes.own_notes',
          change: 'added',
          compare: 'permissive for all to public using ((owner = CURRENT_USER))',
        },
      ],
    });
  });

  it('the other direction swaps added and removed, base and compare', async () => {
    const diff = await diffBranches('dev-diff', 'production', { env });
    expect(diff.changes.map((c) => [c.kind, c.name, c.change])).toEqual([
      ['column', 'public.notes.body', 'changed'],
      ['column', 'public.notes.tags', 'removed'],
      ['index', 'public.notes_body_idx', 'added'],
      ['policy', 'public.notes.own_notes', 'removed'],
    ]);
    expect(diff.changes[0]).toMatchObject({ base: 'text null', compare: 'character varying(100) null' });
  });

  it('identical branches are equal; row counts are compared when asked', async () => {
    expect(await diffBranches('production', 'same', { env })).toEqual({
      base: 'production',
      compare: 'same',
      equal: true,
      changes: [],
    });
    const withRows = await diffBranches('production', 'dev-diff', { env, rowCounts: true });
    expect(withRows.rows).toEqual([{ table: 'public.notes', base: 2, compare: 3 }]);
    const sameRows = await diffBranches('production', 'same', { env, rowCounts: true });
    expect(sameRows).toMatchObject({ equal: true, rows: [] });
  });

  it('refuses names outside the grammar and reports a missing branch with its code', async () => {
    await expect(diffBranches('production', 'Bad_Name', { env })).rejects.toMatchObject({
      code: 'LAKEBASE_CONFIG_INVALID',
    });
    await expect(diffBranches('production', 'ghost', { env })).rejects.toMatchObject({
      code: 'LAKEBASE_RESOURCE_NOT_FOUND',
    });
  });
});
