/**
 * The app reads booleans and one-of settings with the client's one env reader (`envReader` from the toolkit), as the
 * client and the CLI do: spaces and case do not matter, an empty variable is unset, and a value that is none of the
 * accepted ones is LAKEBASE_CONFIG_INVALID naming the variable instead of silently becoming a default.
 */
import { isLakebaseError } from '@lakebase-kit/client';
import { describe, expect, it } from 'vitest';
import { readServerSettings } from '../server/settings.js';

function refusal(env: Record<string, string>): unknown {
  try {
    readServerSettings(env, '/repo');
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('the app’s boolean and one-of settings', () => {
  it.each([
    ['MIGRATE_ON_START', 'maybe'],
    ['MIGRATE_ON_START', 'ture'],
    ['LAKEBASE_EMULATOR', 'disabled'],
    ['LAKEBASE_EMULATOR_TIER', 'provisoned'],
    ['LAKEBASE_CONNECT_AS', 'everyone'],
  ])('%s=%s is refused with LAKEBASE_CONFIG_INVALID naming it, not read as a default', (name, value) => {
    const error = refusal({ [name]: value });
    expect(isLakebaseError(error, 'LAKEBASE_CONFIG_INVALID'), String(error)).toBe(true);
    expect((error as Error).message).toContain(name);
    expect((error as Error).message).toContain(value);
  });

  it('accepts the documented values in any case and with spaces around them', () => {
    const settings = readServerSettings(
      {
        MIGRATE_ON_START: ' TRUE ',
        LAKEBASE_EMULATOR: ' Off ',
        LAKEBASE_EMULATOR_TIER: 'Provisioned',
        LAKEBASE_CONNECT_AS: ' user',
      },
      '/repo',
    );
    expect(settings.migrateOnStart).toBe(true);
    expect(settings.emulator.enabled).toBe(false);
    expect(settings.emulator.tier).toBe('provisioned');
    expect(settings.connectAs).toBe('user');
    for (const off of ['off', 'false', '0', 'no']) {
      expect(readServerSettings({ LAKEBASE_EMULATOR: off }, '/repo').emulator.enabled).toBe(false);
    }
  });

  it('an empty or blank variable is unset: each default holds', () => {
    const blank = { MIGRATE_ON_START: '', LAKEBASE_EMULATOR: ' ', LAKEBASE_EMULATOR_TIER: '', LAKEBASE_CONNECT_AS: '' };
    const settings = readServerSettings(blank, '/repo');
    expect(settings.migrateOnStart).toBe(false);
    expect(settings.emulator.enabled).toBe(true);
    expect(settings.emulator.tier).toBe('autoscaling');
    expect(settings.connectAs).toBe('app');
  });
});
