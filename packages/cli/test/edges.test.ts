/**
 * doctor, token and exec at their edges (issue 12, item 6): a short PAT echoed back by a workspace, a schema typo,
 * a path that is not a program, and a cleartext workspace host. Each answer carries our code and a fix: line.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBed, type TestBed } from './fixture.js';

let bed: TestBed;
let cwd: string;
/** A workspace that rejects every call and echoes the bearer token back, as some proxies and gateways do. */
let echo: http.Server;
let echoUrl: string;

beforeAll(async () => {
  bed = await startTestBed();
  cwd = await bed.newDir();
  echo = http.createServer((req, res) => {
    req.resume();
    res.writeHead(401, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ error_code: 'UNAUTHENTICATED', message: `you sent ${req.headers.authorization}` }));
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  echoUrl = `http://127.0.0.1:${(echo.address() as AddressInfo).port}`;
});
afterAll(async () => {
  echo?.closeAllConnections();
  await new Promise<void>((resolve) => (echo ? echo.close(() => resolve()) : resolve()));
  await bed?.stop();
});

const SHORT_PAT = 'abc1234';

describe('a short secret echoed back by the workspace', () => {
  const env = () =>
    bed.env('provisioned', { DATABRICKS_HOST: echoUrl, DATABRICKS_TOKEN: SHORT_PAT, PGUSER: 'me@example.com' });

  it('doctor does not print it', async () => {
    const result = await bed.lakebase(['doctor'], { cwd, env: env() });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/\[LAKEBASE_AUTH_FAILED\]\nfix: /);
    expect(result.stdout + result.stderr).toContain('Bearer [REDACTED]');
    expect(result.stdout + result.stderr).not.toContain(SHORT_PAT);
  });

  it('token does not print it', async () => {
    const result = await bed.lakebase(['token'], { cwd, env: env() });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/\[LAKEBASE_(AUTH|CREDENTIAL)_FAILED\]\nfix: /);
    expect(result.stdout + result.stderr).not.toContain(SHORT_PAT);
  });
});

describe('lakebase doctor --schema <typo>', () => {
  it('fails the privileges step naming the schema, never "All checks passed"', async () => {
    const result = await bed.lakebase(['doctor', '--schema', 'pubilc'], { cwd, env: bed.env() });
    expect(result.code).toBe(1);
    expect(result.stdout).not.toContain('All checks passed');
    expect(result.stdout).toMatch(/^✗ \S+ .*pubilc/m);
    expect(result.stderr).toMatch(/Schema 'pubilc' does not exist.*\[LAKEBASE_RESOURCE_NOT_FOUND\]\nfix: /);
  });
});

describe('lakebase exec -- <not a program>', () => {
  it('a file that is not executable gets our code and a fix: line, not EACCES', async () => {
    const result = await bed.lakebase(['exec', '--', '/etc/passwd'], { cwd, env: bed.env() });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error: \/etc\/passwd: not an executable program \(EACCES\)\. \[LAKEBASE_COMMAND_NOT_FOUND\]\nfix: /m,
    );
    bed.assertNoSecrets(result.stdout + result.stderr);
  });

  it('a missing command keeps LAKEBASE_COMMAND_NOT_FOUND', async () => {
    const result = await bed.lakebase(['exec', '--', 'no-such-command-xyz'], { cwd, env: bed.env() });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/command not found\. \[LAKEBASE_COMMAND_NOT_FOUND\]\nfix: /);
  });
});

describe('a cleartext DATABRICKS_HOST', () => {
  it('is refused with LAKEBASE_CONFIG_INVALID and a fix when the host is not loopback', async () => {
    const env = bed.env('provisioned', { DATABRICKS_HOST: 'http://dbc-1234.cloud.databricks.com' });
    const result = await bed.lakebase(['token'], { cwd, env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/cleartext.*\[LAKEBASE_CONFIG_INVALID\]\nfix: Use https:\/\/dbc-1234/);
    expect(result.stdout).toBe('');
  });
});
