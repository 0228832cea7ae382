/** `lakebase branch diff` against the emulator: text, JSON and Markdown, both directions, exit codes like `diff`. */
import { withClient } from '@lakebase-kit/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, startTestBed, type TestBed } from './fixture.js';

let bed: TestBed;
let dir: string;

function lakebase(args: string[], extra: Record<string, string> = {}): Promise<CliResult> {
  return bed.lakebase(args, { cwd: dir, env: bed.env('autoscaling', extra) });
}
async function sql(branch: string, text: string): Promise<void> {
  await withClient({ env: { ...bed.env('autoscaling'), LAKEBASE_BRANCH: branch } }, (client) => client.query(text));
}

beforeAll(async () => {
  bed = await startTestBed();
  dir = await bed.newDir();
  await sql(
    'production',
    `create table notes (id serial primary key, owner text not null, body varchar(100));
     create index notes_body_idx on notes (body);
     alter table notes enable row level security;
     insert into notes (owner, body) values ('ann', 'hello')`,
  );
  for (const name of ['same', 'dev-diff']) expect((await lakebase(['branch', 'create', name])).code).toBe(0);
  await sql(
    'dev-diff',
    `alter table notes add column tags text[] default '{}';
     alter table notes alter column body type text;
     drop index notes_body_idx;
     create policy own_notes on notes using (owner = current_user)`,
  );
}, 120_000);
afterAll(async () => {
  await bed?.stop();
});

const FOUR_CHANGES = [
  '- column public.notes.body: character varying(100) null',
  '+ column public.notes.body: text null',
  "+ column public.notes.tags: text[] null default '{}'::text[]",
  '- index public.notes_body_idx: CREATE INDEX notes_body_idx ON public.notes USING btree (body)',
  '+ policy public.notes.own_notes: permissive for all to public using ((owner = CURRENT_USER))',
];

describe('lakebase branch diff', { timeout: 90_000 }, () => {
  it('prints exactly the four changes and exits 1, in text and JSON', async () => {
    const text = await lakebase(['branch', 'diff', 'production', 'dev-diff']);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(1);
    expect(text.stdout).toBe(
      ['--- production', '+++ dev-diff', ...FOUR_CHANGES, '4 changes: 2 added, 1 removed, 1 changed', ''].join('\n'),
    );
    const json = await lakebase(['branch', 'diff', 'production', 'dev-diff', '--json']);
    expect(json.code).toBe(1);
    const parsed = JSON.parse(json.stdout);
    expect(parsed).toMatchObject({ base: 'production', compare: 'dev-diff', equal: false });
    expect(
      parsed.changes.map((c: { kind: string; name: string; change: string }) => `${c.change} ${c.kind} ${c.name}`),
    ).toEqual([
      'changed column public.notes.body',
      'added column public.notes.tags',
      'removed index public.notes_body_idx',
      'added policy public.notes.own_notes',
    ]);
    bed.assertNoSecrets(text.stdout + json.stdout);
  });

  it('the other direction: what production lacks, reversed', async () => {
    const text = await lakebase(['branch', 'diff', 'dev-diff', 'production']);
    expect(text.code).toBe(1);
    expect(text.stdout).toBe(
      [
        '--- dev-diff',
        '+++ production',
        '- column public.notes.body: text null',
        '+ column public.notes.body: character varying(100) null',
        "- column public.notes.tags: text[] null default '{}'::text[]",
        '+ index public.notes_body_idx: CREATE INDEX notes_body_idx ON public.notes USING btree (body)',
        '- policy public.notes.own_notes: permissive for all to public using ((owner = CURRENT_USER))',
        '4 changes: 1 added, 2 removed, 1 changed',
        '',
      ].join('\n'),
    );
    const json = JSON.parse((await lakebase(['branch', 'diff', 'dev-diff', 'production', '--json'])).stdout);
    expect(json.changes.map((c: { change: string }) => c.change)).toEqual(['changed', 'removed', 'added', 'removed']);
  });

  it('identical branches exit 0; compare defaults to LAKEBASE_BRANCH; --data counts rows', async () => {
    const same = await lakebase(['branch', 'diff', 'production', 'same']);
    expect(same).toMatchObject({ code: 0, stderr: '' });
    expect(same.stdout).toBe('--- production\n+++ same\nno schema changes\n');
    const current = await lakebase(['branch', 'diff', 'production', '--json'], { LAKEBASE_BRANCH: 'dev-diff' });
    expect(current.code).toBe(1);
    expect(JSON.parse(current.stdout)).toMatchObject({ compare: 'dev-diff' });
    const endpointBranch = await lakebase(['branch', 'diff', 'same', '--json']);
    expect(JSON.parse(endpointBranch.stdout)).toMatchObject({ base: 'same', compare: 'production', equal: true });

    await sql('same', `insert into notes (owner, body) values ('bob', 'hi')`);
    const data = await lakebase(['branch', 'diff', 'production', 'same', '--data']);
    expect(data.code).toBe(1);
    expect(data.stdout).toContain('~ rows public.notes: 1 -> 2\n');
    expect(data.stdout).toContain('no schema changes; 1 table with other row counts');
  });

  it('--markdown is the pull-request comment with its marker', async () => {
    const md = await lakebase(['branch', 'diff', 'production', 'dev-diff', '--markdown']);
    expect(md.code).toBe(1);
    expect(md.stdout).toBe(
      [
        '<!-- lakebase-schema-diff -->',
        '### Lakebase schema diff: `dev-diff` against `production`',
        '',
        '4 changes: 2 added, 1 removed, 1 changed.',
        '',
        '```diff',
        ...FOUR_CHANGES,
        '```',
        '',
      ].join('\n'),
    );
  });

  it('errors exit 2 with their code: a missing branch, a name outside the grammar', async () => {
    const ghost = await lakebase(['branch', 'diff', 'production', 'ghost']);
    expect(ghost.code).toBe(2);
    expect(ghost.stderr).toContain('[LAKEBASE_RESOURCE_NOT_FOUND]');
    const bad = await lakebase(['branch', 'diff', 'production', 'Bad_Name']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('[LAKEBASE_CONFIG_INVALID]');
    expect(bad.stderr).toContain('fix: ');
  });
});
