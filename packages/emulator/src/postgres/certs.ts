// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata API installed first.
import 'reflect-metadata';
import { X509Certificate as NodeX509, webcrypto } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@lakebase-kit/client/toolkit';
import * as x509 from '@peculiar/x509';

/** The TLS material of the front door, as PEM text plus where the CA lives so clients can be pointed at it. */
export interface Certificates {
  /** Absolute path of the CA certificate (`<dataDir>/tls/ca.pem`): `sslrootcert=` for psql, `ssl.ca` for pg. */
  caFile: string;
  caPem: string;
  certPem: string;
  keyPem: string;
}

const DAY = 24 * 60 * 60 * 1000;
/** Regenerate when a certificate has less than this left, so a long-running emulator never serves an expired one. */
const RENEW_BEFORE = 30 * DAY;
const CA_LIFETIME = 10 * 365 * DAY;
// Under the 398-day limit some TLS clients enforce for leaf certificates.
const SERVER_LIFETIME = 397 * DAY;
const KEY_ALG = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN_ALG = { name: 'ECDSA', hash: 'SHA-256' } as const;
const SERVER_SANS = [
  { type: 'dns', value: 'localhost' },
  { type: 'dns', value: '*.database.localhost' },
  { type: 'ip', value: '127.0.0.1' },
  { type: 'ip', value: '::1' },
] as const;

const crypto = webcrypto;
// @peculiar/x509 is typed against the DOM Crypto; Node's webcrypto is the same API.
x509.cryptoProvider.set(crypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/**
 * Makes sure `<dataDir>/tls/` holds a CA (ca.pem, ca-key.pem) and a server certificate signed by it (server.pem,
 * server-key.pem; keys mode 0600) for `localhost`, `*.database.localhost`, 127.0.0.1 and ::1. Existing files are
 * reused across restarts so clients keep trusting the same CA; a server certificate close to expiry is re-issued by
 * the same CA, and only a missing or expiring CA is replaced.
 */
export async function ensureCertificates(dataDir: string): Promise<Certificates> {
  const dir = join(dataDir, 'tls');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const files = {
    ca: join(dir, 'ca.pem'),
    caKey: join(dir, 'ca-key.pem'),
    cert: join(dir, 'server.pem'),
    key: join(dir, 'server-key.pem'),
  };
  const existing = await readAll([files.ca, files.caKey, files.cert, files.key]);
  const [caPemOld, caKeyOld, certOld, keyOld] = existing;

  let ca: { pem: string; keyPem: string } | undefined;
  if (caPemOld && caKeyOld && validFor(caPemOld, RENEW_BEFORE)) ca = { pem: caPemOld, keyPem: caKeyOld };
  if (ca && certOld && keyOld && validFor(certOld, RENEW_BEFORE) && signedBy(certOld, ca.pem)) {
    return { caFile: files.ca, caPem: ca.pem, certPem: certOld, keyPem: keyOld };
  }
  if (!ca) {
    ca = await createCa();
    await writeFileAtomic(files.caKey, ca.keyPem, 0o600);
    await writeFileAtomic(files.ca, ca.pem, 0o644);
  }
  const server = await createServerCert(ca);
  await writeFileAtomic(files.key, server.keyPem, 0o600);
  await writeFileAtomic(files.cert, server.pem, 0o644);
  return { caFile: files.ca, caPem: ca.pem, certPem: server.pem, keyPem: server.keyPem };
}

async function readAll(paths: string[]): Promise<(string | undefined)[]> {
  return Promise.all(paths.map((p) => readFile(p, 'utf8').catch(() => undefined)));
}

function validFor(pem: string, margin: number): boolean {
  try {
    const cert = new NodeX509(pem);
    return new Date(cert.validTo).getTime() - Date.now() > margin;
  } catch {
    return false;
  }
}

function signedBy(certPem: string, caPem: string): boolean {
  try {
    return new NodeX509(certPem).verify(new NodeX509(caPem).publicKey);
  } catch {
    return false;
  }
}

async function exportKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function createCa(): Promise<{ pem: string; keyPem: string }> {
  const keys = await crypto.subtle.generateKey(KEY_ALG, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: 'CN=Lakebase Kit Emulator Local CA, O=Lakebase Kit',
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + CA_LIFETIME),
    signingAlgorithm: SIGN_ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { pem: cert.toString('pem'), keyPem: await exportKeyPem(keys.privateKey) };
}

async function createServerCert(ca: { pem: string; keyPem: string }): Promise<{ pem: string; keyPem: string }> {
  const caCert = new x509.X509Certificate(ca.pem);
  const caKey = await crypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(ca.keyPem), KEY_ALG, false, [
    'sign',
  ]);
  const keys = await crypto.subtle.generateKey(KEY_ALG, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: 'CN=localhost, O=Lakebase Kit',
    issuer: caCert.subject,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + SERVER_LIFETIME),
    signingAlgorithm: SIGN_ALG,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(SERVER_SANS.map((s) => ({ type: s.type, value: s.value }))),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { pem: cert.toString('pem'), keyPem: await exportKeyPem(keys.privateKey) };
}

function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // a positive INTEGER
  return Buffer.from(bytes).toString('hex');
}
