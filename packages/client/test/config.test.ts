import { describe, expect, it } from 'vitest';
import { normalizeDatabricksHost } from '../src/config/databricks-host.js';
import { NOT_CONFIGURED_SUGGESTION } from '../src/config/resolve.js';
import { resolveConfig } from '../src/index.js';
import { thrownLakebaseError } from './helpers/errors.js';

const ENDPOINT = 'projects/my-app/branches/production/endpoints/primary';

describe('resolveConfig: modes and sources', () => {
  it('static mode from LAKEBASE_PG_URL, URL used as is', () => {
    const c = resolveConfig(
      {},
      { LAKEBASE_PG_URL: 'postgresql://app:s3cr%40t-pass@db.local:6543/appdb?sslmode=require' },
    );
    expect(c.mode).toBe('static');
    expect(c).toMatchObject({ host: 'db.local', port: 6543, database: 'appdb', user: 'app', sslMode: 'require' });
    expect(c.password).toBe('s3cr@t-pass');
    expect(c.sources.url).toBe('LAKEBASE_PG_URL');
  });

  it('static mode accepts postgres:// and defaults to no TLS like pg does for a URL without sslmode', () => {
    const c = resolveConfig({}, { LAKEBASE_PG_URL: 'postgres://postgres@127.0.0.1:5432/test' });
    expect(c).toMatchObject({
      mode: 'static',
      host: '127.0.0.1',
      database: 'test',
      user: 'postgres',
      sslMode: 'disable',
    });
    expect(c.password).toBeUndefined();
  });

  it('static mode: PGSSLMODE applies when the URL has no sslmode; the URL sslmode wins otherwise', () => {
    expect(resolveConfig({}, { LAKEBASE_PG_URL: 'postgresql://u@h/d', PGSSLMODE: 'verify-full' }).sslMode).toBe(
      'verify-full',
    );
    expect(
      resolveConfig({}, { LAKEBASE_PG_URL: 'postgresql://u@h/d?sslmode=disable', PGSSLMODE: 'require' }).sslMode,
    ).toBe('disable');
  });

  it('provisioned from LAKEBASE_INSTANCE_NAME with LAKEBASE_DATABASE_NAME, LAKEBASE_DATABASE, PGDATABASE in that order', () => {
    const base = { LAKEBASE_INSTANCE_NAME: 'my-instance', DATABRICKS_HOST: 'dbc-1.cloud.databricks.com' };
    expect(resolveConfig({}, { ...base, PGDATABASE: 'c' }).database).toBe('c');
    expect(resolveConfig({}, { ...base, PGDATABASE: 'c', LAKEBASE_DATABASE: 'b' }).database).toBe('b');
    const c = resolveConfig({}, { ...base, PGDATABASE: 'c', LAKEBASE_DATABASE: 'b', LAKEBASE_DATABASE_NAME: 'a' });
    expect(c).toMatchObject({
      mode: 'provisioned',
      instanceName: 'my-instance',
      database: 'a',
      port: 5432,
      sslMode: 'require',
    });
    expect(c.sources).toMatchObject({ instanceName: 'LAKEBASE_INSTANCE_NAME', database: 'LAKEBASE_DATABASE_NAME' });
    expect(resolveConfig({}, base).database).toBe('databricks_postgres');
  });

  it('host: LAKEBASE_HOST beats PGHOST; port: LAKEBASE_PORT beats PGPORT; user: LAKEBASE_USERNAME beats PGUSER', () => {
    const c = resolveConfig(
      {},
      {
        LAKEBASE_INSTANCE_NAME: 'i',
        PGHOST: 'pg-host',
        LAKEBASE_HOST: 'lb-host',
        PGPORT: '5433',
        LAKEBASE_PORT: '5434',
        PGUSER: 'pg-user',
        LAKEBASE_USERNAME: 'lb-user',
      },
    );
    expect(c).toMatchObject({ host: 'lb-host', port: 5434, user: 'lb-user' });
    expect(c.sources).toMatchObject({ host: 'LAKEBASE_HOST', port: 'LAKEBASE_PORT', user: 'LAKEBASE_USERNAME' });
    const d = resolveConfig({}, { LAKEBASE_INSTANCE_NAME: 'i', PGHOST: 'pg-host', PGPORT: '5433', PGUSER: 'pg-user' });
    expect(d).toMatchObject({ host: 'pg-host', port: 5433, user: 'pg-user' });
  });

  it('autoscaling from LAKEBASE_ENDPOINT, host from PGHOST', () => {
    const c = resolveConfig({}, { LAKEBASE_ENDPOINT: ENDPOINT, PGHOST: 'ep-1.database.cloud.databricks.com' });
    expect(c).toMatchObject({ mode: 'autoscaling', endpoint: ENDPOINT, host: 'ep-1.database.cloud.databricks.com' });
  });

  it('Databricks Apps runtime variables: PGHOST/PGPORT/PGDATABASE/PGUSER/PGSSLMODE/PGAPPNAME', () => {
    const c = resolveConfig(
      {},
      {
        DATABRICKS_HOST: 'https://dbc-1.cloud.databricks.com',
        DATABRICKS_CLIENT_ID: 'sp-id',
        DATABRICKS_CLIENT_SECRET: 'sp-secret-value',
        DATABRICKS_APP_NAME: 'my-app',
        PGHOST: 'instance-1.database.cloud.databricks.com',
        PGPORT: '5432',
        PGDATABASE: 'databricks_postgres',
        PGUSER: 'sp-id',
        PGSSLMODE: 'require',
        PGAPPNAME: 'my-app',
      },
    );
    // No instance name: the instance is found by its host (the Apps Provisioned resource gives the host).
    expect(c).toMatchObject({
      mode: 'provisioned',
      instanceName: undefined,
      host: 'instance-1.database.cloud.databricks.com',
    });
    expect(c).toMatchObject({
      user: 'sp-id',
      database: 'databricks_postgres',
      sslMode: 'require',
      applicationName: 'my-app',
    });
  });

  it('explicit options beat environment variables, field by field', () => {
    const c = resolveConfig(
      { instanceName: 'opt-instance', host: 'opt-host', port: 6000, user: 'opt-user', database: 'opt-db', poolSize: 2 },
      {
        LAKEBASE_INSTANCE_NAME: 'env-instance',
        PGHOST: 'env-host',
        PGPORT: '5432',
        PGUSER: 'env',
        PGDATABASE: 'x',
        DB_POOL_SIZE: '9',
      },
    );
    expect(c).toMatchObject({
      instanceName: 'opt-instance',
      host: 'opt-host',
      port: 6000,
      user: 'opt-user',
      database: 'opt-db',
    });
    expect(c.pool.size).toBe(2);
    expect(c.sources.host).toBe('option host');
  });

  it('an explicit target option beats a different target in the environment (no contradiction across levels)', () => {
    const c = resolveConfig({ endpoint: ENDPOINT }, { LAKEBASE_INSTANCE_NAME: 'env-instance' });
    expect(c.mode).toBe('autoscaling');
    const s = resolveConfig({ url: 'postgresql://u@h/d' }, { LAKEBASE_ENDPOINT: ENDPOINT });
    expect(s.mode).toBe('static');
  });

  it('pool settings: defaults 5 + 10, recycle 3600; env overrides; max = size + overflow', () => {
    const d = resolveConfig({}, { LAKEBASE_INSTANCE_NAME: 'i' }).pool;
    expect(d).toMatchObject({
      size: 5,
      maxOverflow: 10,
      max: 15,
      recycleIntervalSeconds: 3600,
      connectionTimeoutMillis: 30_000,
    });
    const e = resolveConfig(
      {},
      {
        LAKEBASE_INSTANCE_NAME: 'i',
        DB_POOL_SIZE: '3',
        DB_MAX_OVERFLOW: '4',
        DB_POOL_RECYCLE_INTERVAL: '120',
        PGCONNECT_TIMEOUT: '7',
      },
    ).pool;
    expect(e).toMatchObject({
      size: 3,
      maxOverflow: 4,
      max: 7,
      recycleIntervalSeconds: 120,
      connectionTimeoutMillis: 7000,
    });
    expect(
      resolveConfig({}, { LAKEBASE_INSTANCE_NAME: 'i', DB_POOL_RECYCLE_INTERVAL: '-1' }).pool.recycleIntervalSeconds,
    ).toBe(0);
  });

  it('TLS: require by default for Lakebase; allow/prefer upgraded to require; verify-* kept; PGSSLROOTCERT read', () => {
    expect(resolveConfig({}, { LAKEBASE_INSTANCE_NAME: 'i' }).sslMode).toBe('require');
    expect(resolveConfig({}, { LAKEBASE_INSTANCE_NAME: 'i', PGSSLMODE: 'prefer' }).sslMode).toBe('require');
    const c = resolveConfig({}, { LAKEBASE_INSTANCE_NAME: 'i', PGSSLMODE: 'verify-ca', PGSSLROOTCERT: '/tmp/ca.pem' });
    expect(c).toMatchObject({ sslMode: 'verify-ca', sslRootCert: '/tmp/ca.pem' });
  });

  it('refresh margin and DNS fallback switches', () => {
    const c = resolveConfig(
      {},
      { LAKEBASE_INSTANCE_NAME: 'i', LAKEBASE_TOKEN_REFRESH_MARGIN_SECONDS: '120', LAKEBASE_DNS_FALLBACK: 'false' },
    );
    expect(c.tokenRefreshMarginMs).toBe(120_000);
    expect(c.dnsFallback).toBe(false);
    const d = resolveConfig({}, { LAKEBASE_INSTANCE_NAME: 'i' });
    expect(d.tokenRefreshMarginMs).toBe(300_000);
    expect(d.dnsFallback).toBe(true);
  });

  it('workspace settings: host normalised, secrets kept out of JSON', () => {
    const c = resolveConfig(
      {},
      {
        LAKEBASE_INSTANCE_NAME: 'i',
        DATABRICKS_HOST: 'dbc-1.cloud.databricks.com:443/',
        DATABRICKS_TOKEN: 'dapi0123456789abcdef0123456789abcdef',
        DATABRICKS_CLIENT_SECRET: 'very-secret-client-secret',
        LAKEBASE_PG_URL: '',
      },
    );
    expect(c.workspace.host).toBe('https://dbc-1.cloud.databricks.com');
    expect(c.workspace.token).toBe('dapi0123456789abcdef0123456789abcdef');
    const json = JSON.stringify(c);
    expect(json).not.toContain('dapi0123456789abcdef');
    expect(json).not.toContain('very-secret-client-secret');
    const s = resolveConfig({}, { LAKEBASE_PG_URL: 'postgresql://u:hunter2-password@h/d' });
    expect(JSON.stringify(s)).not.toContain('hunter2-password');
  });

  it('normalizeDatabricksHost follows the SDKs', () => {
    expect(normalizeDatabricksHost('dbc-1.cloud.databricks.com')).toBe('https://dbc-1.cloud.databricks.com');
    expect(normalizeDatabricksHost('https://dbc-1.cloud.databricks.com/')).toBe('https://dbc-1.cloud.databricks.com');
    expect(normalizeDatabricksHost('https://dbc-1.cloud.databricks.com:443')).toBe(
      'https://dbc-1.cloud.databricks.com',
    );
    expect(normalizeDatabricksHost('http://127.0.0.1:8080/some/path?x=1')).toBe('http://127.0.0.1:8080');
  });
});

describe('resolveConfig: bad input', () => {
  it('nothing set: LAKEBASE_NOT_CONFIGURED listing what is missing, with the exact suggestion', () => {
    const e = thrownLakebaseError(() => resolveConfig({}, {}));
    expect(e.code).toBe('LAKEBASE_NOT_CONFIGURED');
    expect(e.suggestion).toBe(
      'Configure a Lakebase resource in databricks.yml, or set PGHOST and LAKEBASE_DATABASE / LAKEBASE_INSTANCE_NAME / ' +
        'LAKEBASE_ENDPOINT, or LAKEBASE_PG_URL',
    );
    expect(e.suggestion).toBe(NOT_CONFIGURED_SUGGESTION);
    for (const name of [
      'LAKEBASE_PG_URL',
      'LAKEBASE_INSTANCE_NAME',
      'LAKEBASE_ENDPOINT',
      'PGHOST',
      'LAKEBASE_DATABASE',
    ]) {
      expect(e.message).toContain(name);
    }
  });

  it('an instance name with capitals is a valid DNS label and is passed to the API as written', () => {
    const config = resolveConfig({}, { LAKEBASE_INSTANCE_NAME: 'MyDb', LAKEBASE_DATABASE: 'd' });
    expect(config.mode).toBe('provisioned');
    expect(config.mode === 'provisioned' && config.instanceName).toBe('MyDb');
  });

  it('PGHOST without a database is still not configured, and says the database is missing', () => {
    const e = thrownLakebaseError(() => resolveConfig({}, { PGHOST: 'h' }));
    expect(e.code).toBe('LAKEBASE_NOT_CONFIGURED');
    expect(e.message).toContain('LAKEBASE_DATABASE');
    expect(e.message).not.toContain('PGHOST (or');
  });

  it('a database without a host is not configured either, and says the host is missing', () => {
    const e = thrownLakebaseError(() => resolveConfig({}, { LAKEBASE_DATABASE: 'd' }));
    expect(e.code).toBe('LAKEBASE_NOT_CONFIGURED');
    expect(e.message).toContain('PGHOST');
  });

  const invalid: [string, Record<string, string>, string][] = [
    [
      'endpoint and instance',
      { LAKEBASE_ENDPOINT: ENDPOINT, LAKEBASE_INSTANCE_NAME: 'i' },
      'LAKEBASE_INSTANCE_NAME and LAKEBASE_ENDPOINT',
    ],
    ['URL and instance', { LAKEBASE_PG_URL: 'postgresql://u@h/d', LAKEBASE_INSTANCE_NAME: 'i' }, 'LAKEBASE_PG_URL and'],
    ['URL and endpoint', { LAKEBASE_PG_URL: 'postgresql://u@h/d', LAKEBASE_ENDPOINT: ENDPOINT }, 'LAKEBASE_PG_URL and'],
    ['malformed URL scheme', { LAKEBASE_PG_URL: 'mysql://u@h/d' }, 'postgresql://'],
    ['unparsable URL', { LAKEBASE_PG_URL: 'postgresql://u@h:notaport/d' }, 'Malformed LAKEBASE_PG_URL'],
    ['unknown sslmode in URL', { LAKEBASE_PG_URL: 'postgresql://u@h/d?sslmode=maybe' }, "sslmode 'maybe'"],
    ['malformed endpoint path', { LAKEBASE_ENDPOINT: 'projects/p/endpoints/e' }, 'Malformed endpoint path'],
    ['malformed instance name', { LAKEBASE_INSTANCE_NAME: 'bad name/x' }, 'Malformed instance name'],
    [
      "instance name with '_' (not a DNS label)",
      { LAKEBASE_INSTANCE_NAME: 'my_app_db' },
      "Invalid instance name 'my_app_db' (LAKEBASE_INSTANCE_NAME): it contains '_'",
    ],
    [
      'instance name ending in -',
      { LAKEBASE_INSTANCE_NAME: 'my-db-' },
      "Invalid instance name 'my-db-' (LAKEBASE_INSTANCE_NAME): it is not a DNS label",
    ],
    [
      'non-numeric pool size',
      { LAKEBASE_INSTANCE_NAME: 'i', DB_POOL_SIZE: 'five' },
      "DB_POOL_SIZE must be a whole number from 0 to 10000, got 'five'",
    ],
    ['negative overflow', { LAKEBASE_INSTANCE_NAME: 'i', DB_MAX_OVERFLOW: '-2' }, 'DB_MAX_OVERFLOW'],
    ['zero connections', { LAKEBASE_INSTANCE_NAME: 'i', DB_POOL_SIZE: '0', DB_MAX_OVERFLOW: '0' }, 'at least one'],
    [
      'non-numeric recycle',
      { LAKEBASE_INSTANCE_NAME: 'i', DB_POOL_RECYCLE_INTERVAL: '1h' },
      'DB_POOL_RECYCLE_INTERVAL',
    ],
    ['bad port', { LAKEBASE_INSTANCE_NAME: 'i', PGPORT: '70000' }, 'PGPORT must be a whole number from 1 to 65535'],
    [
      'bad LAKEBASE_PORT',
      { LAKEBASE_INSTANCE_NAME: 'i', LAKEBASE_PORT: '0' },
      'LAKEBASE_PORT must be a whole number from 1 to 65535',
    ],
    [
      'unknown sslmode',
      { LAKEBASE_INSTANCE_NAME: 'i', PGSSLMODE: 'sometimes' },
      "Unknown sslmode 'sometimes' (PGSSLMODE)",
    ],
    ['sslmode=disable for Lakebase', { LAKEBASE_INSTANCE_NAME: 'i', PGSSLMODE: 'disable' }, 'not allowed for Lakebase'],
    ['unknown auth type', { LAKEBASE_INSTANCE_NAME: 'i', DATABRICKS_AUTH_TYPE: 'kerberos' }, "auth type 'kerberos'"],
    ['bad DNS fallback flag', { LAKEBASE_INSTANCE_NAME: 'i', LAKEBASE_DNS_FALLBACK: 'maybe' }, 'LAKEBASE_DNS_FALLBACK'],
    ['bad PGCONNECT_TIMEOUT', { LAKEBASE_INSTANCE_NAME: 'i', PGCONNECT_TIMEOUT: 'soon' }, 'PGCONNECT_TIMEOUT'],
    [
      'bad refresh margin',
      { LAKEBASE_INSTANCE_NAME: 'i', LAKEBASE_TOKEN_REFRESH_MARGIN_SECONDS: 'x' },
      'LAKEBASE_TOKEN_REFRESH_MARGIN_SECONDS',
    ],
    [
      'malformed DATABRICKS_HOST',
      { LAKEBASE_INSTANCE_NAME: 'i', DATABRICKS_HOST: 'https://' },
      'Malformed Databricks host',
    ],
    ['bad percent-encoding in URL', { LAKEBASE_PG_URL: 'postgresql://u%zz@h/d' }, 'percent-encoding'],
  ];
  for (const [name, env, text] of invalid) {
    it(`${name}: LAKEBASE_CONFIG_INVALID with a suggestion`, () => {
      const e = thrownLakebaseError(() => resolveConfig({}, env));
      expect(e.code).toBe('LAKEBASE_CONFIG_INVALID');
      expect(e.message).toContain(text);
      expect(e.suggestion).toBeTruthy();
    });
  }

  it('two targets in explicit options are contradictory too', () => {
    const e = thrownLakebaseError(() => resolveConfig({ instanceName: 'i', endpoint: ENDPOINT }, {}));
    expect(e.code).toBe('LAKEBASE_CONFIG_INVALID');
    expect(e.message).toContain('option instanceName and option endpoint');
  });

  it('a malformed URL never echoes its password', () => {
    const e = thrownLakebaseError(() => resolveConfig({}, { LAKEBASE_PG_URL: 'postgresql://u:topsecretpw@h:99999/d' }));
    expect(JSON.stringify(e)).not.toContain('topsecretpw');
    expect(e.message).not.toContain('topsecretpw');
  });
});
