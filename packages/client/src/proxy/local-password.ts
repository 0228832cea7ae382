/**
 * The proxy's local password, checked with SCRAM-SHA-256 (RFC 5802/7677, as PostgreSQL does): the password never
 * crosses the wire, even in plain text on a LAN. The verifier (salt, stored and server keys) is derived once at start;
 * each login costs two HMACs and a hash.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Duplex } from 'node:stream';
import {
  authenticationSasl,
  authenticationSaslContinue,
  authenticationSaslFinal,
  type PacketInbox,
  ProtocolError,
  readCString,
} from './wire-protocol.js';

/** PostgreSQL's default `scram_iterations`. */
export const SCRAM_ITERATIONS = 4096;
const MECHANISM = 'SCRAM-SHA-256';

/** What the proxy keeps of the local password: never the password itself. */
export interface ScramVerifier {
  salt: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

const hmac = (key: Buffer, text: string): Buffer => createHmac('sha256', key).update(text).digest();
const sha256 = (data: Buffer): Buffer => createHash('sha256').update(data).digest();

/**
 * SCRAM-SHA-256's stored and server keys of `password` (RFC 5802): what a verifier keeps, here and in PostgreSQL's
 * `pg_authid.rolpassword` (sql/scram.ts).
 */
export function scramKeys(
  password: string,
  salt: Buffer,
  iterations: number,
): { storedKey: Buffer; serverKey: Buffer } {
  // NFKC is the heart of SASLprep, which libpq applies to the password; ASCII passwords are unchanged by it.
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  return { storedKey: sha256(hmac(salted, 'Client Key')), serverKey: hmac(salted, 'Server Key') };
}

export function scramVerifier(password: string): ScramVerifier {
  const salt = randomBytes(16);
  return { salt, ...scramKeys(password, salt, SCRAM_ITERATIONS) };
}

/** A wrong password (or a client that gave none): the caller answers 28P01 as PostgreSQL does. */
export class PasswordRefused extends Error {}

/**
 * Runs the SCRAM exchange with a client on `stream`. Resolves when the proof matches (the SASLFinal is sent; the
 * caller sends AuthenticationOk once the upstream login succeeds); rejects with {@link PasswordRefused} or a
 * {@link ProtocolError}.
 */
export async function checkLocalPassword(stream: Duplex, inbox: PacketInbox, verifier: ScramVerifier): Promise<void> {
  stream.write(authenticationSasl([MECHANISM]));
  const initial = await inbox.message();
  if (initial.type !== 'p') throw new ProtocolError('expected SASL response');
  const mechanism = readCString(initial.body);
  if (mechanism !== MECHANISM) throw new ProtocolError(`unsupported SASL mechanism "${mechanism}"`);
  const offset = Buffer.byteLength(mechanism) + 1;
  const length = initial.body.readInt32BE(offset);
  const clientFirst = initial.body.toString('utf8', offset + 4, offset + 4 + Math.max(0, length));
  // gs2 header: `n,,` or `y,,` (no channel binding; we do not offer SCRAM-SHA-256-PLUS).
  const header = /^([ny]),(?:a=[^,]*)?,/.exec(clientFirst);
  if (!header) throw new ProtocolError('malformed SCRAM client-first-message');
  const clientFirstBare = clientFirst.slice(header[0].length);
  const clientNonce = /(?:^|,)r=([^,]+)/.exec(clientFirstBare)?.[1];
  if (!clientNonce) throw new ProtocolError('malformed SCRAM client-first-message: no nonce');
  const nonce = clientNonce + randomBytes(18).toString('base64');
  const serverFirst = `r=${nonce},s=${verifier.salt.toString('base64')},i=${SCRAM_ITERATIONS}`;
  stream.write(authenticationSaslContinue(serverFirst));

  const final = await inbox.message();
  if (final.type !== 'p') throw new ProtocolError('expected SASL response');
  const clientFinal = final.body.toString('utf8');
  const proofAt = clientFinal.lastIndexOf(',p=');
  if (proofAt < 0) throw new ProtocolError('malformed SCRAM client-final-message');
  const withoutProof = clientFinal.slice(0, proofAt);
  if (/(?:^|,)r=([^,]+)/.exec(withoutProof)?.[1] !== nonce) throw new PasswordRefused('SCRAM nonce mismatch');
  const proof = Buffer.from(clientFinal.slice(proofAt + 3), 'base64');
  const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
  const signature = hmac(verifier.storedKey, authMessage);
  if (proof.length !== signature.length) throw new PasswordRefused('SCRAM proof has the wrong length');
  const clientKey = Buffer.from(proof.map((b, i) => b ^ (signature[i] ?? 0)));
  if (!timingSafeEqual(sha256(clientKey), verifier.storedKey)) throw new PasswordRefused('wrong password');
  stream.write(authenticationSaslFinal(`v=${hmac(verifier.serverKey, authMessage).toString('base64')}`));
}
