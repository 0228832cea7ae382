import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureCertificates } from '../../src/postgres/certs.js';

describe('ensureCertificates', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('creates a CA and a server certificate for localhost names and loopback IPs, and reuses them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lakebase-certs-'));
    dirs.push(dir);
    const first = await ensureCertificates(dir);
    expect(first.caFile).toBe(join(dir, 'tls', 'ca.pem'));

    const ca = new X509Certificate(first.caPem);
    const server = new X509Certificate(first.certPem);
    expect(ca.ca).toBe(true);
    expect(server.ca).toBe(false);
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(server.checkHost('localhost')).toBe('localhost');
    expect(server.checkHost('my-instance.database.localhost')).toBeTruthy();
    expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(server.checkIP('::1')).toBeTruthy();
    expect(server.checkHost('example.com')).toBeUndefined();

    expect((await stat(join(dir, 'tls', 'server-key.pem'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'tls', 'ca-key.pem'))).mode & 0o777).toBe(0o600);

    const second = await ensureCertificates(dir);
    expect(second).toEqual(first);
  });
});
