import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { databaseErrorCode, isLakebaseError, LakebaseError, redact, registerSecret } from '../src/index.js';

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

  it('is recognised by its brand, which stays off JSON and keys; a subclass keeps the ordinary instanceof check', () => {
    const error = new LakebaseError('LAKEBASE_CLOSED', 'closed');
    expect(Object.getOwnPropertySymbols(error)).toEqual([]);
    expect(JSON.stringify(error)).not.toContain('@lakebase-kit');
    class Narrower extends LakebaseError {}
    expect(new Narrower('LAKEBASE_CLOSED', 'x')).toBeInstanceOf(LakebaseError);
    expect(error instanceof Narrower).toBe(false);
    expect(new Narrower('LAKEBASE_CLOSED', 'x') instanceof Narrower).toBe(true);
    const lookAlike = Object.assign(new Error('x'), { name: 'LakebaseError', code: 'LAKEBASE_CLOSED' });
    expect(isLakebaseError(lookAlike)).toBe(false);
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

describe('databaseErrorCode: the one SQLSTATE / socket code mapping', () => {
  it('names the known SQLSTATEs, socket and TLS codes, and otherwise goes by the step', () => {
    const e = (code?: string) => Object.assign(new Error('x'), code === undefined ? {} : { code });
    expect(databaseErrorCode(e('28P01'))).toBe('LAKEBASE_LOGIN_FAILED');
    expect(databaseErrorCode(e('28000'))).toBe('LAKEBASE_ROLE_NOT_FOUND');
    expect(databaseErrorCode(e('3D000'))).toBe('LAKEBASE_DATABASE_NOT_FOUND');
    expect(databaseErrorCode(e('57P03'))).toBe('LAKEBASE_INSTANCE_NOT_READY');
    expect(databaseErrorCode(e('42501'))).toBe('LAKEBASE_PERMISSION_DENIED');
    expect(databaseErrorCode(e('ECONNREFUSED'))).toBe('LAKEBASE_CONNECT_FAILED');
    expect(databaseErrorCode(e('DEPTH_ZERO_SELF_SIGNED_CERT'))).toBe('LAKEBASE_CONNECT_FAILED');
    expect(databaseErrorCode(e('42P01'))).toBe('LAKEBASE_QUERY_FAILED');
    expect(databaseErrorCode(e('42P01'), 'connect')).toBe('LAKEBASE_CONNECT_FAILED');
    expect(databaseErrorCode(e(), 'query')).toBe('LAKEBASE_QUERY_FAILED');
    expect(databaseErrorCode(e())).toBe('LAKEBASE_UNEXPECTED_ERROR');
    expect(databaseErrorCode('not an error')).toBe('LAKEBASE_UNEXPECTED_ERROR');
  });
});
