import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LakebaseError } from '../src/index.js';
import { buildSslOptions, createLookup, resolveHost, tlsPolicy } from '../src/toolkit.js';

const fail = (code: string) => Object.assign(new Error(`lookup ${code}`), { code });
const failingSystem = (_h: string, _o: unknown, cb: (e: NodeJS.ErrnoException | null, a: never[]) => void) =>
  cb(fail('ENOTFOUND'), []);
const okSystem = (_h: string, _o: unknown, cb: (e: null, a: { address: string; family: number }[]) => void) =>
  cb(null, [{ address: '10.1.2.3', family: 4 }]);

describe('resolveHost', () => {
  it('uses the system lookup first and does not query DNS when it answers', async () => {
    let asked = 0;
    const resolver = {
      resolve4: async () => {
        asked++;
        return ['9.9.9.9'];
      },
      resolve6: async () => [],
    };
    expect(await resolveHost('db.example.com', { systemLookup: okSystem, resolver })).toEqual([
      { address: '10.1.2.3', family: 4, via: 'system' },
    ]);
    expect(asked).toBe(0);
  });

  it('falls back to direct A/AAAA queries when getaddrinfo fails', async () => {
    const resolver = { resolve4: async () => ['10.0.0.7'], resolve6: async () => ['fd00::7'] };
    expect(
      await resolveHost('instance-abc.database.cloud.databricks.com', { systemLookup: failingSystem, resolver }),
    ).toEqual([
      { address: '10.0.0.7', family: 4, via: 'dns' },
      { address: 'fd00::7', family: 6, via: 'dns' },
    ]);
  });

  it('.localhost names are loopback (RFC 6761) without asking DNS', async () => {
    const resolver = {
      resolve4: async () => Promise.reject(fail('ENOTFOUND')),
      resolve6: async () => Promise.reject(fail('ENOTFOUND')),
    };
    expect(await resolveHost('instance-1.database.localhost', { systemLookup: failingSystem, resolver })).toEqual([
      { address: '127.0.0.1', family: 4, via: 'localhost' },
    ]);
  });

  it('every method failing is LAKEBASE_DNS_FAILED with the system error as cause', async () => {
    const resolver = {
      resolve4: async () => Promise.reject(fail('ENOTFOUND')),
      resolve6: async () => Promise.reject(fail('ENODATA')),
    };
    const error = (await resolveHost('nope.example.invalid', { systemLookup: failingSystem, resolver }).catch(
      (e) => e,
    )) as LakebaseError;
    expect(error.code).toBe('LAKEBASE_DNS_FAILED');
    expect(error.message).toContain('nope.example.invalid');
    expect(error.message).toContain('ENOTFOUND');
    expect(error.suggestion).toBeTruthy();
  });

  it('createLookup answers net.connect in both callback shapes', async () => {
    const lookup = createLookup({
      systemLookup: failingSystem,
      resolver: { resolve4: async () => ['10.0.0.8'], resolve6: async () => [] },
    });
    const single = await new Promise<[string, number]>((resolve, reject) =>
      lookup('h.example', {}, (err, address, family) =>
        err ? reject(err) : resolve([address as string, family as number]),
      ),
    );
    expect(single).toEqual(['10.0.0.8', 4]);
    const all = await new Promise<unknown>((resolve, reject) =>
      lookup('h.example', { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
    );
    expect(all).toEqual([{ address: '10.0.0.8', family: 4 }]);
  });
});

describe('TLS policy', () => {
  const ca = path.join(os.tmpdir(), `lakebase-test-ca-${process.pid}.pem`);
  writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');

  it('Lakebase: require verifies against the system CAs (stricter than libpq); no-verify opts out; verify-ca skips the name', () => {
    expect(tlsPolicy({ mode: 'provisioned', sslMode: 'require', sslRootCert: undefined })).toBe('verify-full');
    expect(buildSslOptions({ mode: 'autoscaling', sslMode: 'require', sslRootCert: undefined })).toEqual({
      rejectUnauthorized: true,
    });
    expect(buildSslOptions({ mode: 'provisioned', sslMode: 'no-verify', sslRootCert: undefined })).toEqual({
      rejectUnauthorized: false,
    });
    const verifyCa = buildSslOptions({ mode: 'provisioned', sslMode: 'verify-ca', sslRootCert: ca });
    expect(verifyCa).toMatchObject({ rejectUnauthorized: true, ca: expect.stringContaining('BEGIN CERTIFICATE') });
    expect(verifyCa && typeof verifyCa.checkServerIdentity).toBe('function');
  });

  it('static mode follows libpq: disable/allow/prefer off, require encrypts only (verify-ca with a root cert)', () => {
    for (const sslMode of ['disable', 'allow', 'prefer'] as const) {
      expect(buildSslOptions({ mode: 'static', sslMode, sslRootCert: undefined })).toBe(false);
    }
    expect(buildSslOptions({ mode: 'static', sslMode: 'require', sslRootCert: undefined })).toEqual({
      rejectUnauthorized: false,
    });
    expect(tlsPolicy({ mode: 'static', sslMode: 'require', sslRootCert: ca })).toBe('verify-ca');
    expect(tlsPolicy({ mode: 'static', sslMode: 'verify-full', sslRootCert: undefined })).toBe('verify-full');
  });

  it('an unreadable PGSSLROOTCERT is LAKEBASE_CONFIG_INVALID', () => {
    expect(() =>
      buildSslOptions({ mode: 'provisioned', sslMode: 'verify-full', sslRootCert: '/nonexistent/ca.pem' }),
    ).toThrow(expect.objectContaining({ code: 'LAKEBASE_CONFIG_INVALID' }));
  });
});
