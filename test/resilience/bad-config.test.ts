/**
 * Bad configuration input, property-based (fast-check): environment and option values given to `resolveConfig` and
 * `createLakebasePool` never throw a TypeError (or anything but a LakebaseError); they return a config / pool or throw
 * a LakebaseError with a stable code.
 */
import { createLakebasePool, isLakebaseError, LakebaseError, resolveConfig } from '@lakebase-kit/client';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { FULL } from './helpers.js';

const RUNS = FULL ? 1_000 : 150;

const ENV_NAMES = [
  'LAKEBASE_PG_URL',
  'LAKEBASE_INSTANCE_NAME',
  'LAKEBASE_ENDPOINT',
  'LAKEBASE_HOST',
  'PGHOST',
  'LAKEBASE_PORT',
  'PGPORT',
  'LAKEBASE_DATABASE_NAME',
  'LAKEBASE_DATABASE',
  'PGDATABASE',
  'LAKEBASE_USERNAME',
  'PGUSER',
  'PGAPPNAME',
  'PGSSLMODE',
  'PGSSLROOTCERT',
  'DB_POOL_SIZE',
  'DB_MAX_OVERFLOW',
  'DB_POOL_RECYCLE_INTERVAL',
  'PGCONNECT_TIMEOUT',
  'LAKEBASE_DNS_FALLBACK',
  'LAKEBASE_TOKEN_REFRESH_MARGIN_SECONDS',
  'LAKEBASE_READ_HOST',
  'LAKEBASE_READ_FALLBACK',
  'LAKEBASE_READ_RETRY_SECONDS',
  'LAKEBASE_READ_CONNECT_TIMEOUT_MS',
  'LAKEBASE_POOLED',
  'DATABRICKS_HOST',
  'DATABRICKS_TOKEN',
  'DATABRICKS_CLIENT_ID',
  'DATABRICKS_CLIENT_SECRET',
  'DATABRICKS_CONFIG_PROFILE',
  'DATABRICKS_CONFIG_FILE',
  'DATABRICKS_AUTH_TYPE',
  'DATABRICKS_CLI_PATH',
  'DATABRICKS_METADATA_SERVICE_URL',
  'DATABRICKS_WORKSPACE_ID',
  'HOME',
];

/** Values that have broken parsers before: empty, blanks, numbers at the edges, URLs half right, odd Unicode. */
const NASTY = [
  '',
  ' ',
  '\t\n',
  '0',
  '-1',
  '1.5',
  'NaN',
  'Infinity',
  '1e309',
  '65536',
  '99999999999999999999',
  '0x10',
  '0o7',
  '0b1',
  '1e3',
  '1e-9',
  ' 5',
  '5 ',
  '+5',
  '-0',
  '٣',
  '5.0',
  'true',
  'false',
  'yes',
  'null',
  'undefined',
  '__proto__',
  'constructor',
  'toString',
  'postgresql://',
  'postgresql://u:p@h:0/db',
  'postgresql://u:%zz@h/db',
  'postgresql://u@h:5432/db?sslmode=bogus',
  'postgres://[::1]:5432/db',
  'http://',
  'https://',
  'https://dbc-123.cloud.databricks.com:443/',
  'projects/p/branches/b/endpoints/e',
  'projects//branches/b/endpoints/e',
  'projects/p/branches/b/endpoints/e/extra',
  'a b',
  'a/b',
  '/',
  '/dev/null',
  '/etc',
  '/nonexistent/file.pem',
  '.',
  '~',
  "'; drop table users; --",
  '\u0000',
  'é',
  '\u202e',
  '\ud800',
  '🎉',
  'x'.repeat(5000),
  'pat',
  'oauth-m2m',
  'databricks-cli',
  'metadata-service',
  'require',
  'verify-full',
  'disable',
];

const envValue = fc.oneof(
  fc.constantFrom(...NASTY),
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.integer().map(String),
);
const envArbitrary = fc.dictionary(fc.constantFrom(...ENV_NAMES), envValue, { maxKeys: 8 });

const optionsArbitrary = fc.record(
  {
    url: fc.constantFrom(...NASTY),
    instanceName: envValue,
    endpoint: envValue,
    host: envValue,
    port: fc.oneof(fc.integer(), fc.double()),
    database: envValue,
    user: envValue,
    sslMode: fc.constantFrom('disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'),
    poolSize: fc.oneof(fc.integer(), fc.double()),
    maxOverflow: fc.oneof(fc.integer(), fc.double()),
    recycleIntervalSeconds: fc.oneof(fc.integer(), fc.double()),
    connectionTimeoutMillis: fc.oneof(fc.integer(), fc.double()),
    tokenRefreshMarginSeconds: fc.oneof(fc.integer(), fc.double()),
    databricksHost: envValue,
    token: envValue,
    clientId: envValue,
    clientSecret: envValue,
    profile: envValue,
    authType: fc.constantFrom('pat', 'oauth-m2m', 'databricks-cli', 'metadata-service'),
  },
  { requiredKeys: [] },
);

/** Runs `fn`; returns 'ok' or the LakebaseError code; anything else thrown fails the property with its description. */
function outcome(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (error) {
    if (error instanceof LakebaseError && isLakebaseError(error) && /^LAKEBASE_[A-Z_]+$/.test(error.code)) {
      return error.code;
    }
    throw new Error(`not a LakebaseError: ${(error as Error)?.constructor?.name}: ${(error as Error)?.message}`);
  }
}

describe('configuration values (fast-check)', () => {
  it('resolveConfig: any environment gives a config or a LakebaseError, never a TypeError', () => {
    fc.assert(
      fc.property(envArbitrary, (env) => {
        outcome(() => resolveConfig({}, { PATH: '', ...env }));
      }),
      { numRuns: RUNS },
    );
  });

  it('resolveConfig: any option values give a config or a LakebaseError', () => {
    fc.assert(
      fc.property(optionsArbitrary, envArbitrary, (options, env) => {
        outcome(() => resolveConfig(options as never, { PATH: '', ...env }));
      }),
      { numRuns: RUNS },
    );
  });

  it('createLakebasePool: any environment gives a pool or a LakebaseError', async () => {
    const pools: Array<{ end(): Promise<void> }> = [];
    fc.assert(
      fc.property(envArbitrary, (env) => {
        outcome(() => {
          pools.push(createLakebasePool({ env: { PATH: '', ...env }, logger: { warn: () => {} } }));
        });
      }),
      { numRuns: RUNS },
    );
    await Promise.all(pools.map((p) => p.end()));
  });
});
