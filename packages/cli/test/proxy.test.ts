/** `lakebase proxy`, driven as a user's shell would: the ready line, psql through it, refusals, the drain on SIGTERM. */
import { once } from 'node:events';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBed, type TestBed } from './fixture.js';
import { runCommand, spawnUntilFirstLine, stopChild } from './helpers.js';

let bed: TestBed;
let cwd: string;

beforeAll(async () => {
  bed = await startTestBed();
  cwd = await bed.newDir();
});
afterAll(async () => {
  await bed?.stop();
});

/** libpq settings a tool pointed at the proxy gets: no password, no TLS, no token. */
function toolEnv(port: number, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: bed.home, PGHOST: '127.0.0.1', PGPORT: String(port), PGUSER: 'me', ...extra };
}

describe('lakebase proxy', () => {
  it('--json prints {url, host, port, database, user}; psql works through it; SIGTERM exits 0; --verbose logs no secret', async () => {
    const { child, firstLine, stderr } = await spawnUntilFirstLine(['proxy', '--port', '0', '--json', '--verbose'], {
      cwd,
      env: bed.env(),
    });
    try {
      const ready = JSON.parse(firstLine) as {
        url: string;
        host: string;
        port: number;
        database: string;
        user: string;
      };
      expect(Object.keys(ready).sort()).toEqual(['database', 'host', 'port', 'url', 'user']);
      expect(ready).toMatchObject({ host: '127.0.0.1', database: 'databricks_postgres', user: bed.emulator.user });
      expect(ready.url).toBe(
        `postgresql://${encodeURIComponent(ready.user)}@127.0.0.1:${ready.port}/databricks_postgres`,
      );
      const psql = await runCommand('psql', ['-AtX', '-d', ready.database, '-c', 'select current_user'], {
        env: toolEnv(ready.port),
      });
      expect(psql.stderr).toBe('');
      expect(psql.stdout.trim()).toBe(bed.emulator.user);
    } finally {
      expect(await stopChild(child, 'SIGTERM')).toBe(0);
    }
    expect(stderr()).toMatch(/session opened/);
    bed.assertNoSecrets(stderr());
  });

  it('on SIGTERM stops accepting and waits for an open client (--drain-seconds), then exits 0', async () => {
    const { child, firstLine } = await spawnUntilFirstLine(['proxy', '--port', '0', '--json'], { cwd, env: bed.env() });
    const { port, database } = JSON.parse(firstLine) as { port: number; database: string };
    const client = new pg.Client({ host: '127.0.0.1', port, database, user: 'me' });
    await client.connect();
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    // The proxy waits: the open session still answers after the signal.
    expect((await client.query('select 5 as n')).rows[0].n).toBe(5);
    expect(child.exitCode).toBe(null);
    await client.end();
    const [code] = await exited;
    expect(code).toBe(0);
  });

  it('with LAKEBASE_PROXY_PASSWORD, a wrong local password is refused with 28P01', async () => {
    const { child, firstLine } = await spawnUntilFirstLine(['proxy', '--port', '0', '--json'], {
      cwd,
      env: bed.env('provisioned', { LAKEBASE_PROXY_PASSWORD: 'right one' }),
    });
    try {
      const { port, database } = JSON.parse(firstLine) as { port: number; database: string };
      const wrong = new pg.Client({ host: '127.0.0.1', port, database, user: 'me', password: 'wrong one' });
      await expect(wrong.connect()).rejects.toMatchObject({ code: '28P01' });
      const right = await runCommand('psql', ['-AtX', '-d', database, '-c', 'select 1'], {
        env: toolEnv(port, { PGPASSWORD: 'right one' }),
      });
      expect(right.stdout.trim()).toBe('1');
    } finally {
      await stopChild(child, 'SIGTERM');
    }
  });

  it('--tls serves local clients with a generated localhost certificate that psql verifies (verify-full)', async () => {
    const tlsDir = await bed.newDir();
    const { child, firstLine } = await spawnUntilFirstLine(
      ['proxy', '--port', '0', '--json', '--tls', '--tls-dir', tlsDir],
      {
        cwd,
        env: bed.env(),
      },
    );
    try {
      const { port, database } = JSON.parse(firstLine) as { port: number; database: string };
      const psql = await runCommand('psql', ['-AtX', '-d', database, '-c', 'select 1'], {
        env: toolEnv(port, {
          PGHOST: 'localhost',
          PGSSLMODE: 'verify-full',
          PGSSLROOTCERT: path.join(tlsDir, 'tls', 'ca.pem'),
        }),
      });
      expect(psql.stderr).toBe('');
      expect(psql.stdout.trim()).toBe('1');
    } finally {
      await stopChild(child, 'SIGTERM');
    }
  });

  it('refuses a non-loopback --address without a local password, and a port in use, with coded errors', async () => {
    const open = await bed.lakebase(['proxy', '--address', '0.0.0.0', '--port', '0'], { cwd, env: bed.env() });
    expect(open.code).toBe(1);
    expect(open.stderr).toContain('LAKEBASE_PROXY_UNSAFE_ADDRESS');
    const both = await bed.lakebase(['proxy', '--port', '0', '--allow-user', '--local-password', 'correct horse'], {
      cwd,
      env: bed.env(),
    });
    expect(both.code).toBe(1);
    expect(both.stderr).toContain('LAKEBASE_PROXY_OPTION_CONFLICT');
    expect(both.stderr).not.toContain('correct horse');
    // The machine's PostgreSQL listens on 5432, the proxy's default port.
    const taken = await bed.lakebase(['proxy', '--port', '5432'], { cwd, env: bed.env() });
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain('LAKEBASE_PORT_IN_USE');
    expect(taken.stderr).toContain('--port');
  });

  it('--help documents every flag', async () => {
    const help = await bed.lakebase(['proxy', '--help'], { cwd, env: bed.env() });
    for (const flag of [
      '--port',
      '--address',
      '--branch',
      '--read-only',
      '--allow-user',
      '--local-password',
      '--tls',
      '--tls-dir',
      '--health-port',
      '--drain-seconds',
      '--json',
      '--verbose',
    ]) {
      expect(help.stdout).toContain(flag);
    }
  });
});
