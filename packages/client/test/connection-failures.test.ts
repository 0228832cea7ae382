/**
 * The one classification of connection failures (connection/connection-failures.ts), which the login retry, the query
 * retry, diagnose (through databaseErrorCode), the app's error mapping and health use. Real failures from real
 * sockets and a real PostgreSQL where a server can show them; pg-shaped errors for the SQLSTATE table.
 */
import { createServer } from 'node:net';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { classifyConnectionFailure, connectionFailureOf } from '../src/connection/connection-failures.js';
import { databaseErrorCode } from '../src/connection/database-errors.js';
import { isServerClosedConnection, isTransientLoginFailure } from '../src/connection/login-retry.js';

const PG_URL = 'postgresql://postgres@127.0.0.1:5432/test';

/** A port nothing listens on: bound once by us, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function failure(work: () => Promise<unknown>): Promise<unknown> {
  try {
    await work();
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

const pgError = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('classifyConnectionFailure, on real failures', () => {
  it('a refused TCP connection is a transient network failure, which the login retry retries', async () => {
    const port = await closedPort();
    const error = await failure(async () => {
      const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', connectionTimeoutMillis: 5000 });
      await client.connect();
    });
    expect(classifyConnectionFailure(error)).toEqual({ kind: 'network', code: 'ECONNREFUSED', transient: true });
    expect(isTransientLoginFailure(error)).toBe(true);
    expect(databaseErrorCode(error, 'connect')).toBe('LAKEBASE_CONNECT_FAILED');
  });

  it('a backend the server terminates (57P01) is a transient shutdown: the query retry may run it again', async () => {
    const victim = new pg.Client({ connectionString: PG_URL });
    const admin = new pg.Client({ connectionString: PG_URL });
    victim.on('error', () => {}); // the terminated client also emits it
    await Promise.all([victim.connect(), admin.connect()]);
    try {
      const pid = (await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
      const error = await failure(() =>
        Promise.all([victim.query('SELECT pg_sleep(30)'), admin.query('SELECT pg_terminate_backend($1)', [pid])]),
      );
      expect(classifyConnectionFailure(error)).toEqual({ kind: 'shutdown', code: '57P01', transient: true });
      expect(isServerClosedConnection(error)).toBe(true);
      // The next query on that client fails without a SQLSTATE: a network failure, but not one the query retry may
      // repeat (pg cannot tell whether the statement reached the server).
      const after = await failure(() => victim.query('SELECT 1'));
      expect(classifyConnectionFailure(after)?.kind).toBe('network');
      expect(isServerClosedConnection(after)).toBe(false);
    } finally {
      await admin.end();
      await victim.end().catch(() => {});
    }
  });

  it('a definite answer from a live server (unknown table, bad password) is not a transient connection failure', async () => {
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    try {
      const error = await failure(() => client.query('SELECT * FROM no_such_table_at_all'));
      expect(classifyConnectionFailure(error)).toBeUndefined();
      expect(isTransientLoginFailure(error)).toBe(false);
    } finally {
      await client.end();
    }
  });
});

describe('classifyConnectionFailure, the table', () => {
  it.each([
    ['08006', 'connection', true],
    ['08001', 'connection', true],
    ['08P01', 'connection', false],
    ['53300', 'resources', true],
    ['53100', 'resources', false],
    ['57P01', 'shutdown', true],
    ['57P02', 'shutdown', true],
    ['57P05', 'shutdown', true],
    ['57P04', 'shutdown', false],
    ['57P03', 'starting', true],
    ['28P01', 'auth', false],
    ['28000', 'auth', false],
    ['ECONNRESET', 'network', true],
    ['ETIMEDOUT', 'network', true],
    ['EHOSTUNREACH', 'network', true],
    ['EPIPE', 'network', true],
    ['ENOTFOUND', 'dns', false],
    ['EAI_AGAIN', 'dns', true],
  ] as const)('%s is %s (transient: %s)', (code, kind, transient) => {
    expect(classifyConnectionFailure(pgError(code))).toEqual({ kind, code, transient });
  });

  it('other SQLSTATEs are no connection failure, even with a socket error further down the chain', () => {
    expect(classifyConnectionFailure(pgError('42P01'))).toBeUndefined();
    expect(classifyConnectionFailure(new Error('wrapped', { cause: pgError('42501', 'x') }))).toBeUndefined();
    expect(
      classifyConnectionFailure(Object.assign(pgError('23505'), { cause: pgError('ECONNRESET') })),
    ).toBeUndefined();
  });

  it('pg’s messages without a code, and a failure wrapped as a cause, are found', () => {
    for (const message of [
      'Connection terminated unexpectedly',
      'Connection terminated due to connection timeout',
      'timeout exceeded when trying to connect',
      'timeout expired',
    ]) {
      expect(classifyConnectionFailure(new Error(message))?.kind, message).toBe('network');
    }
    expect(classifyConnectionFailure(new Error('Client was closed and is not queryable'))?.kind).toBe('shutdown');
    expect(classifyConnectionFailure(new Error('outer', { cause: pgError('ECONNREFUSED') }))?.code).toBe(
      'ECONNREFUSED',
    );
    expect(connectionFailureOf(new Error('outer', { cause: pgError('ECONNREFUSED') }))).toBeUndefined();
  });

  it('the login retry and diagnose read the same table (57P03 is transient and "not ready")', () => {
    expect(isTransientLoginFailure(pgError('57P03'))).toBe(true);
    expect(databaseErrorCode(pgError('57P03'), 'connect')).toBe('LAKEBASE_INSTANCE_NOT_READY');
    expect(isTransientLoginFailure(pgError('28P01'))).toBe(false);
    expect(isTransientLoginFailure(pgError('XX000', 'External authorization failed'))).toBe(true);
  });
});
