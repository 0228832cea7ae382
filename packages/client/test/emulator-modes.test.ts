/** Provisioned and Autoscaling end to end against the emulator: auth, target lookup, TLS, login, queries. */
import type { Emulator } from '@lakebase-kit/emulator';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  connect,
  createLakebasePool,
  getConnectionConfig,
  type LakebasePool,
  type LakebasePoolOptions,
} from '../src/index.js';
import { sleep, startWarmEmulator } from './helpers/emulator.js';

let emu: Emulator;
const pools: LakebasePool[] = [];
const quiet = { warn: () => {} };

beforeAll(async () => {
  emu = await startWarmEmulator({ instanceStartMs: 200, upstream: 'postgresql://postgres@127.0.0.1:5432/test' });
});
afterAll(async () => {
  await emu?.stop();
});
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.end()));
});

function pool(env: Record<string, string>, options: Omit<LakebasePoolOptions, 'env' | 'logger'> = {}): LakebasePool {
  const p = createLakebasePool({ env, logger: quiet, ...options });
  pools.push(p);
  return p;
}

function without(env: Record<string, string>, ...names: string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([key]) => !names.includes(key)));
}

async function whoAmI(p: LakebasePool): Promise<string> {
  return (await p.query<{ user: string }>('select current_user as "user"')).rows[0]?.user ?? '';
}

function stats() {
  return emu.workspace.stats().credentialRequests;
}

describe('Provisioned (emulator)', () => {
  it('PAT + LAKEBASE_INSTANCE_NAME: verified TLS, user from the token sub, Provisioned credential API', async () => {
    const before = stats().provisioned;
    const p = pool(emu.env('provisioned'));
    expect(await whoAmI(p)).toBe(emu.user);
    expect(p.lakebase.mode).toBe('provisioned');
    expect(stats().provisioned - before).toBe(1);
    const { rows } = await p.query<{ ssl: boolean }>('select 1 as one');
    expect(rows).toHaveLength(1);
  });

  it('no PGHOST: the host is read from the instance (read_write_dns)', async () => {
    const p = pool(without(emu.env('provisioned'), 'PGHOST'));
    expect(await whoAmI(p)).toBe(emu.user);
    expect((await p.lakebase.target()).host).toBe(emu.pgHost);
  });

  it('PGHOST + LAKEBASE_DATABASE without an instance name (the Apps resource shape): the instance is found by host', async () => {
    const p = pool(without(emu.env('provisioned'), 'LAKEBASE_INSTANCE_NAME'));
    expect(await whoAmI(p)).toBe(emu.user);
    expect((await p.lakebase.target()).instanceName).toBe(emu.instanceName);
  });

  it('a created instance at instance-<uid>.database.localhost: DNS fallback, SNI and certificate use the name', async () => {
    // The system lookup fails (as macOS' getaddrinfo does for long Lakebase names), so the address comes from the
    // fallback; the emulator routes a login to an instance by SNI, so the token minted for the created instance is
    // accepted only if the name, not the address, reached TLS.
    const systemLookups: string[] = [];
    const failingSystemLookup = (
      host: string,
      _opts: unknown,
      cb: (err: NodeJS.ErrnoException, a: never[]) => void,
    ) => {
      systemLookups.push(host);
      cb(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' }), []);
    };
    const api = (path: string, init: RequestInit = {}) =>
      fetch(`${emu.databricksHost}${path}`, {
        ...init,
        headers: { Authorization: `Bearer ${emu.databricksToken}`, 'Content-Type': 'application/json' },
      }).then((r) => r.json() as Promise<Record<string, unknown>>);
    const name = `created-${Date.now()}`;
    await api('/api/2.0/database/instances', { method: 'POST', body: JSON.stringify({ name, capacity: 'CU_1' }) });
    let instance = await api(`/api/2.0/database/instances/${name}`);
    for (let i = 0; i < 50 && instance.state !== 'AVAILABLE'; i++) {
      await sleep(100);
      instance = await api(`/api/2.0/database/instances/${name}`);
    }
    expect(instance.read_write_dns).toMatch(/^instance-.*\.database\.localhost$/);
    const p = pool(
      { ...without(emu.env('provisioned'), 'PGHOST'), LAKEBASE_INSTANCE_NAME: name },
      { dns: { systemLookup: failingSystemLookup } },
    );
    expect(await whoAmI(p)).toBe(emu.user);
    expect((await p.lakebase.target()).host).toBe(instance.read_write_dns);
    expect(systemLookups).toContain(instance.read_write_dns);
  });
});

describe('Autoscaling (emulator)', () => {
  it('PAT + LAKEBASE_ENDPOINT: Autoscaling credential API', async () => {
    const before = stats().autoscaling;
    const p = pool(emu.env('autoscaling'));
    expect(await whoAmI(p)).toBe(emu.user);
    expect(p.lakebase.mode).toBe('autoscaling');
    expect(stats().autoscaling - before).toBe(1);
  });

  it('no PGHOST: the host is the endpoint status.hosts.host', async () => {
    const p = pool(without(emu.env('autoscaling'), 'PGHOST'));
    expect(await whoAmI(p)).toBe(emu.user);
  });

  it('OAuth M2M service principal (the Databricks Apps shape): role = client id', async () => {
    const oauthBefore = emu.workspace.stats().oauthTokensIssued;
    const env = {
      ...without(emu.env('autoscaling'), 'DATABRICKS_TOKEN'),
      DATABRICKS_CLIENT_ID: emu.clientId,
      DATABRICKS_CLIENT_SECRET: emu.clientSecret,
      PGAPPNAME: 'my-databricks-app',
    };
    const p = pool(env);
    expect(await whoAmI(p)).toBe(emu.clientId);
    expect(p.lakebase.auth?.authType).toBe('oauth-m2m');
    expect(emu.workspace.stats().oauthTokensIssued - oauthBefore).toBe(1);
    const app = await p.query<{ name: string }>("select current_setting('application_name') as name");
    expect(app.rows[0]?.name).toBe('my-databricks-app');
  });
});

describe('Databricks Apps runtime shape (emulator)', () => {
  it('M2M service principal + injected PGHOST/PGPORT/PGDATABASE/PGUSER/PGSSLMODE/PGAPPNAME, no instance name', async () => {
    const env = {
      DATABRICKS_HOST: emu.databricksHost,
      DATABRICKS_CLIENT_ID: emu.clientId,
      DATABRICKS_CLIENT_SECRET: emu.clientSecret,
      DATABRICKS_APP_NAME: 'prefs-app',
      PGHOST: emu.pgHost,
      PGPORT: String(emu.pgPort),
      PGDATABASE: emu.database,
      PGUSER: emu.clientId,
      PGSSLMODE: 'require',
      PGSSLROOTCERT: emu.caFile,
      PGAPPNAME: 'prefs-app',
    };
    const p = pool(env);
    expect(await whoAmI(p)).toBe(emu.clientId);
    expect(p.lakebase.mode).toBe('provisioned');
    expect((await p.lakebase.target()).instanceName).toBe(emu.instanceName); // found by host
  });
});

describe('single clients (emulator)', () => {
  it('getConnectionConfig() gives a pg.ClientConfig that logs in with verified TLS', async () => {
    const config = await getConnectionConfig({ env: emu.env('provisioned') });
    expect(config).toMatchObject({ host: emu.pgHost, port: emu.pgPort, user: emu.user, database: emu.database });
    expect(typeof config.password).toBe('function');
    expect(JSON.stringify(config)).not.toMatch(/eyJ/);
    const client = new pg.Client(config);
    await client.connect();
    expect((await client.query('select current_user as u')).rows[0].u).toBe(emu.user);
    await client.end();
  });

  it('connect() opens one client for scripts', async () => {
    const client = await connect({ env: emu.env('autoscaling') });
    expect((await client.query('select 41 + 1 as answer')).rows[0].answer).toBe(42);
    await client.end();
  });
});
