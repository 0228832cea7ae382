/**
 * schemaSnapshot and diffSchemas on a real PostgreSQL: each kind of object is read, and a change to each shows as that
 * one change. Two schemas of one database stand in for two branches (the emulator tests compare real branches).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffSchemas, type SchemaObject, schemaSnapshot } from '../src/toolkit.js';

const URL = 'postgresql://postgres@127.0.0.1:5432/test';
const SCHEMA = `snap_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
const ROLE = `${SCHEMA}_reader`;
let db: pg.Client;

/** Everything a schema can hold that the diff reads. */
const OBJECTS = `
  create type mood as enum ('ok', 'meh');
  create domain short_text as text check (length(value) < 10);
  create sequence counter increment 5;
  create table items (id int generated always as identity primary key, name short_text not null,
                      feel mood default 'ok', total numeric(10, 2) generated always as (id * 2) stored,
                      unique (name));
  create table "odd ""name""" (item int references items (id) on delete cascade, note text collate "C");
  create index items_lower on items (lower(name::text)) where feel = 'ok';
  create view item_names as select name from items;
  create materialized view item_count as select count(*) as n from items;
  create function double(x int) returns int language sql immutable as 'select x * 2';
  create function touch() returns trigger language plpgsql as 'begin return new; end';
  create trigger items_touch before update on items for each row execute function touch();
  alter table items enable row level security;
  create policy readers on items for select to ${ROLE} using (feel = 'ok');
  grant select on items to ${ROLE};
  grant usage on schema ${SCHEMA} to ${ROLE};
`;

async function snapshot() {
  return schemaSnapshot(db, { schemas: [SCHEMA], rowCounts: true });
}
const keys = (objects: SchemaObject[]) => objects.map((o) => `${o.kind} ${o.name.replace(`${SCHEMA}.`, 's.')}`);

beforeAll(async () => {
  db = new pg.Client(URL);
  await db.connect();
  await db.query(`create role "${ROLE}"; create schema ${SCHEMA}; set search_path = ${SCHEMA}`);
  await db.query(OBJECTS);
  await db.query(`insert into items (name) values ('a'), ('b')`);
});
afterAll(async () => {
  await db?.query(`drop schema if exists ${SCHEMA} cascade; drop role if exists "${ROLE}"`).catch(() => {});
  await db?.end();
});

describe('schemaSnapshot', () => {
  it('reads every kind, names as the catalog has them (row counts quote them in SQL)', async () => {
    const snap = await snapshot();
    expect(keys(snap.objects)).toEqual([
      `schema ${SCHEMA}`,
      'type s.mood',
      'type s.short_text',
      'sequence s.counter',
      'sequence s.items_id_seq',
      'table s.items',
      'table s.odd "name"',
      'column s.items.feel',
      'column s.items.id',
      'column s.items.name',
      'column s.items.total',
      'column s.odd "name".item',
      'column s.odd "name".note',
      'constraint s.items.items_name_key',
      'constraint s.items.items_pkey',
      'constraint s.odd "name".odd "name"_item_fkey',
      'index s.items_lower',
      'view s.item_count',
      'view s.item_names',
      'function s.double(x integer)',
      'function s.touch()',
      'trigger s.items.items_touch',
      'policy s.items.readers',
      `grant schema ${SCHEMA} to ${ROLE}`,
      `grant s.items to ${ROLE}`,
    ]);
    const def = (name: string) => snap.objects.find((o) => o.name === `${SCHEMA}.${name}`)?.definition;
    expect(def('items.id')).toBe('integer not null generated always as identity');
    expect(def('items.feel')).toBe(`${SCHEMA}.mood null default 'ok'::${SCHEMA}.mood`);
    expect(def('items.total')).toBe('numeric(10,2) null generated always as ((id * 2)) stored');
    expect(def('odd "name".note')).toBe('text null collate "C"');
    expect(def('mood')).toBe("enum ('ok', 'meh')");
    expect(def('counter')).toBe('bigint start 1 increment 5 min 1 max 9223372036854775807');
    expect(def('items')).toBe('table, row level security');
    expect(def('readers')).toBeUndefined();
    expect(def('items.readers')).toBe(`permissive for select to ${ROLE} using ((feel = 'ok'::${SCHEMA}.mood))`);
    expect(def(`items to ${ROLE}`)).toBe('SELECT');
    expect(snap.rows).toEqual({ [`${SCHEMA}.items`]: 2, [`${SCHEMA}.odd "name"`]: 0 });
  });

  it('a change to each kind shows as exactly that change', async () => {
    const before = await snapshot();
    expect(diffSchemas(before, await snapshot())).toEqual({ equal: true, changes: [], rows: [] });
    await db.query(`
      alter type mood add value 'great';
      create or replace function double(x int) returns int language sql immutable as 'select x + x';
      drop trigger items_touch on items;
      revoke select on items from ${ROLE};
      grant select, update on items to ${ROLE};
      alter table items force row level security;
      create or replace view item_names as select name, feel from items;
      insert into items (name) values ('c');
    `);
    const diff = diffSchemas(before, await snapshot());
    expect(diff.changes.map((c) => `${c.change} ${c.kind} ${c.name.replace(`${SCHEMA}.`, 's.')}`)).toEqual([
      'changed type s.mood',
      'changed table s.items',
      'changed view s.item_names',
      'changed function s.double(x integer)',
      'removed trigger s.items.items_touch',
      `changed grant s.items to ${ROLE}`,
    ]);
    expect(diff.rows).toEqual([{ table: `${SCHEMA}.items`, base: 2, compare: 3 }]);
    expect(diff.equal).toBe(false);
  });
});
