import { createLakebasePool, isLakebaseError } from '@lakebase-kit/client';
import { quoteIdent, scramSha256Verifier } from '@lakebase-kit/client/toolkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../src/index.js';
import { connectFrontDoor, frontDoorConfig } from './clients.js';

/**
 * A pooled host that refuses OAuth token logins (`pooledOAuth: 'refuse'`): the pool answers
 * LAKEBASE_POOLED_HOST_UNSUPPORTED with the fix, a native password role logs in there, and with the default
 * (`allow`) the same token login works.
 */
describe('pooled host and OAuth logins', () => {
  let emulator: Emulator;
  let pooledHost: string;

  beforeAll(async () => {
    emulator = await startEmulator({ pooledOAuth: 'refuse', onNotice: () => {} });
    const response = await fetch(`${emulator.databricksHost}/api/2.0/postgres/${emulator.endpoint}`, {
      headers: { authorization: `Bearer ${emulator.databricksToken}` },
    });
    pooledHost = ((await response.json()) as { status: { hosts: { read_write_pooled_host: string } } }).status.hosts
      .read_write_pooled_host;
  });
  afterAll(async () => {
    await emulator?.stop();
  });

  const pooledEnv = () => ({ ...emulator.env('autoscaling'), LAKEBASE_POOLED: 'true' });

  it('refuses a token login on the pooled host; the pool answers LAKEBASE_POOLED_HOST_UNSUPPORTED with the fix', async () => {
    const pool = createLakebasePool({ env: pooledEnv() });
    try {
      const error = await pool.query('select 1').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isLakebaseError(error, 'LAKEBASE_POOLED_HOST_UNSUPPORTED')).toBe(true);
      expect((error as { suggestion: string }).suggestion).toContain('lakebase role create <name> --password');
      expect((error as { suggestion: string }).suggestion).toContain('LAKEBASE_PG_URL');
    } finally {
      await pool.end();
    }
  });

  it('a native password role logs in on the pooled host; with pooledOAuth allow, tokens do again', async () => {
    const role = `pooled_native_${process.pid}`;
    const created = await fetch(
      `${emulator.databricksHost}/api/2.0/postgres/${emulator.endpoint.split('/endpoints/')[0]}/roles?role_id=pooled-native`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${emulator.databricksToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          spec: { postgres_role: role, identity_type: 'PG_ONLY', auth_method: 'PG_PASSWORD_SCRAM_SHA_256' },
        }),
      },
    );
    expect(created.status).toBe(200);
    const { token } = await emulator.workspace.mintDatabaseToken(emulator.user, [
      { kind: 'endpoint', name: emulator.endpoint },
    ]);
    const owner = await connectFrontDoor(frontDoorConfig(emulator, { password: token }));
    const password = `pooled-${process.pid}-password`;
    await owner.query(`ALTER ROLE ${quoteIdent(role)} PASSWORD '${scramSha256Verifier(password)}'`);
    await owner.end();

    const native = await connectFrontDoor(frontDoorConfig(emulator, { user: role, password, host: pooledHost }));
    expect((await native.query('select current_user as u')).rows[0].u).toBe(role);
    await native.end();

    emulator.workspace.setPooledOAuth('allow');
    const pool = createLakebasePool({ env: pooledEnv() });
    try {
      expect((await pool.query('select current_user as u')).rows[0].u).toBe(emulator.user);
    } finally {
      await pool.end();
      emulator.workspace.setPooledOAuth('refuse');
    }
  });
});
