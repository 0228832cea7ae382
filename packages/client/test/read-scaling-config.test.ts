/** Read-scaling settings: defaults, ranges, and the pooled host's statement rules (pure, no server). */
import { describe, expect, it } from 'vitest';
import { resolveReadScaling } from '../src/config/read-scaling.js';
import { transactionPoolingRefusal } from '../src/connection/pooled-host.js';
import { operationOf } from '../src/connection/query-hooks.js';

describe('read-scaling settings', () => {
  it('defaults: fall back to the primary, retry after 30 s, 5 s read connect timeout, not pooled', () => {
    expect(resolveReadScaling({}, {})).toEqual({
      readHost: undefined,
      readFallback: 'primary',
      readRetryMs: 30_000,
      readConnectTimeoutMs: 5000,
      pooled: false,
      pooledHost: undefined,
    });
  });

  it('options win over variables', () => {
    const env = { LAKEBASE_READ_HOST: 'env-host', LAKEBASE_READ_FALLBACK: 'fail', LAKEBASE_POOLED: 'yes' };
    expect(resolveReadScaling({ readHost: 'opt-host', pooled: false }, env)).toMatchObject({
      readHost: 'opt-host',
      readFallback: 'fail',
      pooled: false,
    });
  });

  it.each([
    [{ LAKEBASE_READ_FALLBACK: 'secondary' }, /LAKEBASE_READ_FALLBACK must be 'primary' or 'fail'/],
    [{ LAKEBASE_READ_RETRY_SECONDS: '0' }, /LAKEBASE_READ_RETRY_SECONDS must be a whole number from 1 to 3600/],
    [{ LAKEBASE_READ_RETRY_SECONDS: 'soon' }, /LAKEBASE_READ_RETRY_SECONDS/],
    [
      { LAKEBASE_READ_CONNECT_TIMEOUT_MS: '99' },
      /LAKEBASE_READ_CONNECT_TIMEOUT_MS must be a whole number from 100 to 60000/,
    ],
    [{ LAKEBASE_POOLED: 'maybe' }, /LAKEBASE_POOLED must be true or false/],
  ])('refuses %j with LAKEBASE_CONFIG_INVALID', (env, message) => {
    expect(() => resolveReadScaling({}, env)).toThrow(message);
    try {
      resolveReadScaling({}, env);
    } catch (error) {
      expect((error as { code: string }).code).toBe('LAKEBASE_CONFIG_INVALID');
    }
  });
});

describe('what transaction pooling refuses', () => {
  const refusal = (text: string, prepared = false) => transactionPoolingRefusal({ text, prepared });
  it.each([
    'listen jobs',
    '  UNLISTEN *',
    'set search_path = app',
    'SET SESSION statement_timeout = 0',
    'select pg_advisory_lock(1)',
    'select pg_try_advisory_lock_shared(1)',
    'prepare q as select 1',
  ])('refuses %s', (text) => {
    expect(refusal(text)).toBeDefined();
  });

  it.each([
    'select 1',
    "set local statement_timeout = '1s'",
    'set transaction isolation level serializable',
    'set constraints all deferred',
    'select pg_advisory_xact_lock(1)',
    "select 'listen' as word",
  ])('allows %s', (text) => {
    expect(refusal(text)).toBeUndefined();
  });

  it('refuses named prepared statements', () => {
    expect(refusal('select 1', true)).toMatch(/named prepared statements/);
  });

  it('reads the operation keyword without a regex', () => {
    expect(operationOf('  select 1')).toBe('SELECT');
    expect(operationOf('\n\tWITH x AS (select 1) select * from x')).toBe('WITH');
    expect(operationOf('(select 1)')).toBeUndefined();
    expect(operationOf(undefined)).toBeUndefined();
  });
});
