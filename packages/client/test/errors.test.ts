import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { isLakebaseError, LakebaseError, redact, registerSecret } from '../src/index.js';

describe('LakebaseError and redaction', () => {
  it('carries a stable code, a suggestion, details and a cause; toJSON is plain and secret-free', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED with password=hunter2hunter2'), {
      code: 'ECONNREFUSED',
    });
    const error = new LakebaseError('LAKEBASE_CONNECT_FAILED', 'Cannot connect', {
      suggestion: 'Check PGHOST',
      cause,
      details: { host: 'db', port: 5432 },
    });
    expect(error).toBeInstanceOf(Error);
    expect(isLakebaseError(error, 'LAKEBASE_CONNECT_FAILED')).toBe(true);
    expect(isLakebaseError(error, 'LAKEBASE_CLOSED')).toBe(false);
    expect(error.toJSON()).toEqual({
      name: 'LakebaseError',
      code: 'LAKEBASE_CONNECT_FAILED',
      message: 'Cannot connect',
      suggestion: 'Check PGHOST',
      details: { host: 'db', port: 5432 },
      cause: { name: 'Error', message: 'connect ECONNREFUSED with password=[REDACTED]', code: 'ECONNREFUSED' },
    });
  });

  it('redacts JWTs, PATs, OAuth secrets, URL passwords, key=value secrets and registered values', () => {
    registerSecret('opaque-registered-secret-value');
    const text = [
      'jwt eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJqYW5lIn0.c2lnbmF0dXJl',
      'pat dapi0123456789abcdef0123456789abcdef',
      'secret dose0123456789abcdef0123456789abcd',
      'url postgresql://jane:pa55word@host:5432/db',
      'token=abc123def456',
      'opaque-registered-secret-value',
    ].join(' | ');
    const out = redact(text);
    for (const leaked of ['eyJhbGci', 'dapi0123', 'dose0123', 'pa55word', 'abc123def456', 'opaque-registered']) {
      expect(out).not.toContain(leaked);
    }
    expect(out).toContain('postgresql://jane:[REDACTED]@host:5432/db');
    const error = new LakebaseError('LAKEBASE_API_ERROR', `failed: ${text}`);
    expect(JSON.stringify(error)).not.toContain('eyJhbGci');
    expect(inspect(error)).not.toContain('dapi0123');
  });
});
