/** Drizzle, Kysely and Prisma's driver adapter each run a query through a Lakebase pool (emulator, verified TLS). */
import type { Emulator } from '@lakebase-kit/emulator';
import { PrismaPg } from '@prisma/adapter-pg';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { Kysely, sql as ksql, PostgresDialect } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLakebasePool, type LakebasePool } from '../src/index.js';
import { startWarmEmulator } from './helpers/emulator.js';

let emu: Emulator;
let pool: LakebasePool;

beforeAll(async () => {
  emu = await startWarmEmulator();
  pool = createLakebasePool({ env: emu.env('autoscaling'), logger: { warn: () => {} } });
});
afterAll(async () => {
  await pool?.end();
  await emu?.stop();
});

describe('ORMs through the pool', () => {
  it('Drizzle (node-postgres driver)', async () => {
    const db = drizzle({ client: pool });
    const result = await db.execute<{ who: string; n: number }>(sql`select current_user as who, ${41}::int + 1 as n`);
    expect(result.rows[0]).toEqual({ who: emu.user, n: 42 });
  });

  it('Kysely (PostgresDialect)', async () => {
    const db = new Kysely<Record<string, never>>({ dialect: new PostgresDialect({ pool }) });
    const result = await ksql<{ who: string; n: number }>`select current_user as who, ${41}::int + 1 as n`.execute(db);
    expect(result.rows[0]).toEqual({ who: emu.user, n: 42 });
  });

  it("Prisma's @prisma/adapter-pg (driver adapter called directly)", async () => {
    const factory = new PrismaPg(pool);
    const adapter = await factory.connect();
    const result = await adapter.queryRaw({
      sql: 'select current_user as who, $1::int + 1 as n',
      args: [41],
      argTypes: [{ scalarType: 'int', arity: 'scalar' }],
    });
    expect(result.columnNames).toEqual(['who', 'n']);
    expect(result.rows[0]).toEqual([emu.user, 42]);
    expect(adapter.underlyingDriver()).toBe(pool); // Prisma recognised the pool as a pg.Pool and used it as is
    await adapter.dispose();
    expect(pool.ending).toBe(false);
  });
});
