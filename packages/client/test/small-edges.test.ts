/** Small edges with one root (issue 12, item 6): a BOM in .env.local, short secrets, cleartext workspace hosts. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isLoopbackHost, normalizeDatabricksHost } from '../src/config/databricks-host.js';
import { loadEnvFiles, mergeEnvText } from '../src/config/env-file.js';
import { LakebaseError, redact, registerSecret, resolveConfig } from '../src/index.js';
import { thrownLakebaseError } from './helpers/errors.js';

describe('.env.local with a UTF-8 byte order mark', () => {
  it('keeps its first variable', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lakebase-bom-'));
    try {
      await writeFile(path.join(dir, '.env.local'), '\uFEFFLAKEBASE_INSTANCE_NAME=first\nPGUSER=me@example.com\n');
      const { env } = await loadEnvFiles(dir, {});
      expect(env.LAKEBASE_INSTANCE_NAME).toBe('first');
      expect(Object.keys(env).some((k) => k.includes('\uFEFF'))).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('an update replaces the first variable instead of adding a second copy', () => {
    const merged = mergeEnvText('\uFEFFLAKEBASE_INSTANCE_NAME=old\n', { LAKEBASE_INSTANCE_NAME: 'new' });
    expect(merged.match(/LAKEBASE_INSTANCE_NAME=/g)).toHaveLength(1);
    expect(merged).toContain('LAKEBASE_INSTANCE_NAME=new');
  });
});

describe('secrets we hold are redacted whatever their length', () => {
  it('a 7-character PAT echoed back by a server is redacted, ordinary words containing it are not', () => {
    resolveConfig(
      {},
      { LAKEBASE_INSTANCE_NAME: 'i', DATABRICKS_HOST: 'https://w.example', DATABRICKS_TOKEN: 'abc1234' },
    );
    expect(redact('401: you sent Bearer abc1234')).toBe('401: you sent Bearer [REDACTED]');
    expect(new LakebaseError('LAKEBASE_AUTH_FAILED', 'bad token "abc1234".').message).not.toContain('abc1234');
    expect(redact('xabc1234y stays')).toBe('xabc1234y stays');
  });

  it('a 3-character secret with regex characters is redacted as a whole word', () => {
    registerSecret('a+b');
    expect(redact('got a+b, expected c')).toBe('got [REDACTED], expected c');
  });
});

describe('a cleartext (http://) DATABRICKS_HOST', () => {
  it('is refused unless the host is loopback', () => {
    const error = thrownLakebaseError(() =>
      resolveConfig({}, { LAKEBASE_INSTANCE_NAME: 'i', DATABRICKS_HOST: 'http://dbc-1234.cloud.databricks.com' }),
    );
    expect(error.code).toBe('LAKEBASE_CONFIG_INVALID');
    expect(error.message).toContain('DATABRICKS_HOST');
    expect(error.suggestion).toContain('https://dbc-1234.cloud.databricks.com');
    for (const host of ['http://localhost:8080', 'http://127.0.0.1:9', 'http://[::1]:80', 'http://api.localhost']) {
      expect(normalizeDatabricksHost(host)).toBe(host.replace(/:80$/, ''));
    }
    expect(isLoopbackHost('127.1.2.3')).toBe(true);
    expect(isLoopbackHost('127.example.com')).toBe(false);
    expect(isLoopbackHost('localhost.example.com')).toBe(false);
  });
});
