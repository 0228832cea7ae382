/** The read-only guard's SQL check (pure): what switches a session to read-write, and what only reads the setting. */
import { describe, expect, it } from 'vitest';
import { readWriteSwitch } from '../../src/postgres/read-only-guard.js';

describe('readWriteSwitch', () => {
  it.each([
    'BEGIN READ WRITE',
    'start transaction isolation level serializable, read write',
    'begin read/**/write',
    'begin read -- comment\n write',
    'SET default_transaction_read_only = off',
    'set local transaction_read_only to off',
    'RESET default_transaction_read_only',
    "select set_config('default_transaction_read_only', 'off', false)",
    "select set_config($1, 'off', false)",
    'set U&"transaction\\005fread_only" = off',
  ])('refuses %s', (sql) => {
    expect(readWriteSwitch(sql)).toBeDefined();
  });

  it.each([
    'select 1',
    "select current_setting('transaction_read_only')",
    'show transaction_read_only',
    "select set_config('app.user', 'alice', true)",
    'begin read only',
    "select 'read' || ' write'",
  ])('allows %s', (sql) => {
    expect(readWriteSwitch(sql)).toBeUndefined();
  });
});
