/**
 * SCRAM-SHA-256 password verifiers as PostgreSQL stores them (RFC 5802/7677; `pg_authid.rolpassword`):
 * `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`. The kit sends a verifier in `ALTER ROLE ... PASSWORD`
 * (as psql's `\password` does), so the password itself never crosses the wire or reaches a server log; the emulator
 * checks a native password role's login against the verifier in its catalog.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { SCRAM_ITERATIONS, scramKeys } from '../proxy/local-password.js';

const VERIFIER = /^SCRAM-SHA-256\$(\d{1,7}):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/;

/** The verifier of `password`, with a fresh random salt. */
export function scramSha256Verifier(password: string): string {
  const salt = randomBytes(16);
  const { storedKey, serverKey } = scramKeys(password, salt, SCRAM_ITERATIONS);
  return `SCRAM-SHA-256$${SCRAM_ITERATIONS}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** Whether `password` matches `verifier` (constant-time); false for anything that is not a SCRAM-SHA-256 verifier. */
export function verifyScramSha256(password: string, verifier: string | undefined): boolean {
  const match = verifier ? VERIFIER.exec(verifier) : null;
  if (!match) return false;
  const iterations = Number(match[1]);
  if (iterations < 1 || iterations > 1_000_000) return false;
  const { storedKey, serverKey } = scramKeys(password, Buffer.from(match[2] as string, 'base64'), iterations);
  const expectedStored = Buffer.from(match[3] as string, 'base64');
  const expectedServer = Buffer.from(match[4] as string, 'base64');
  return (
    expectedStored.length === storedKey.length &&
    expectedServer.length === serverKey.length &&
    timingSafeEqual(expectedStored, storedKey) &&
    timingSafeEqual(expectedServer, serverKey)
  );
}

/** A new password for a native role: 32 characters from 24 random bytes, URL- and shell-safe. */
export function generateRolePassword(): string {
  return randomBytes(24).toString('base64url');
}
