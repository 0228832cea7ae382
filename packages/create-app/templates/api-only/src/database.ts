import { fileURLToPath } from 'node:url';
import {
  applyMigrations,
  createLakebasePool,
  isLakebaseError,
  type LakebaseConfig,
  type LakebasePool,
  resolveConfig,
} from '@lakebase-kit/client';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));

export interface Database {
  pool: LakebasePool;
  /** Ends the pool, then stops the emulator if one was started. */
  close(): Promise<void>;
}

/**
 * The Lakebase pool from the environment (see the client's README for the variables). With nothing configured and
 * outside production, the embedded emulator is started and the pool connects to it the same way. Migrations run once
 * the pool is there.
 */
export async function openDatabase(
  env: Record<string, string | undefined> = process.env,
  emulatorDir = '.lakebase/emulator',
): Promise<Database> {
  let config: LakebaseConfig;
  let stopEmulator = async () => {};
  try {
    config = resolveConfig({}, env);
  } catch (error) {
    if (!isLakebaseError(error, 'LAKEBASE_NOT_CONFIGURED') || env.NODE_ENV === 'production') throw error;
    // A dev dependency, loaded only here: a deployed app never needs it.
    const { startEmulator } = await import('@lakebase-kit/emulator');
    const emulator = await startEmulator({ dataDir: emulatorDir, apiPort: 0, pgPort: 0 });
    stopEmulator = () => emulator.stop();
    config = resolveConfig({}, emulator.env());
  }
  const pool = createLakebasePool({ config });
  const close = async () => {
    await pool.end();
    await stopEmulator();
  };
  try {
    await applyMigrations(pool, { dir: MIGRATIONS_DIR });
  } catch (error) {
    await close();
    throw error;
  }
  return { pool, close };
}
