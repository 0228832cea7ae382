/** Finding and waiting for a Lakebase resource against the emulator's workspace API. */
import type { Emulator } from '@lakebase-kit/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/index.js';
import {
  LakebaseApi,
  listWorkspaceResources,
  resolveBundleResources,
  validateEndpointPath,
  validateInstanceName,
  WorkspaceAuth,
  waitUntilReady,
} from '../src/toolkit.js';
import { startWarmEmulator } from './helpers/emulator.js';

let emu: Emulator;
let api: LakebaseApi;

beforeAll(async () => {
  emu = await startWarmEmulator({ instanceStartMs: 300, upstream: 'postgresql://postgres@127.0.0.1:5432/test' });
  api = new LakebaseApi(new WorkspaceAuth(resolveConfig({}, emu.env()).workspace));
});
afterAll(async () => {
  await emu?.stop();
});

describe('discovery', () => {
  it('validates names before any request', () => {
    expect(() => validateInstanceName('My_DB')).toThrow(/it contains '_'/);
    expect(() => validateInstanceName('My_DB')).toThrow(
      expect.objectContaining({ suggestion: expect.stringContaining("'my-db'") }),
    );
    expect(validateInstanceName('ok-name-1')).toBe('ok-name-1');
    expect(() => validateEndpointPath('projects/p/endpoints/e')).toThrow(/expected projects\/<project>/);
  });

  it('lists the instance and the project read-write endpoint; a bundle project resolves to its endpoint', async () => {
    const listed = await listWorkspaceResources(api);
    expect(listed).toEqual([
      expect.objectContaining({ tier: 'provisioned', instanceName: emu.instanceName }),
      expect.objectContaining({ tier: 'autoscaling', endpoint: emu.endpoint }),
    ]);
    const project = emu.endpoint.split('/branches/')[0] as string;
    const resolved = await resolveBundleResources(api, [
      { tier: 'autoscaling', project, branch: undefined, database: 'app', source: 'databricks.yml' },
    ]);
    expect(resolved).toEqual([
      { tier: 'autoscaling', endpoint: emu.endpoint, database: 'app', source: 'databricks.yml' },
    ]);
  });

  it('waits while an instance is STARTING, reporting progress, and returns its host', async () => {
    emu.workspace.setInstanceState(emu.instanceName, 'STARTING');
    const states: string[] = [];
    // The instance starts once the waiter has reported STARTING twice (an event, not a guessed delay).
    const onWaiting = (state: string) => {
      states.push(state);
      if (states.length === 2) emu.workspace.setInstanceState(emu.instanceName, 'AVAILABLE');
    };
    const ready = await waitUntilReady(
      api,
      { tier: 'provisioned', instanceName: emu.instanceName, database: undefined, source: 'test' },
      { pollMs: 50, onWaiting },
    );
    expect(ready).toMatchObject({ host: 'localhost', state: 'AVAILABLE' });
    expect(states).toHaveLength(2);
    expect(new Set(states)).toEqual(new Set(['STARTING']));
  });

  it('gives up after the timeout; a stopped endpoint fails at once', async () => {
    emu.workspace.setInstanceState(emu.instanceName, 'STARTING');
    try {
      await expect(
        waitUntilReady(
          api,
          { tier: 'provisioned', instanceName: emu.instanceName, database: undefined, source: 't' },
          {
            pollMs: 20,
            timeoutMs: 60,
          },
        ),
      ).rejects.toMatchObject({
        code: 'LAKEBASE_INSTANCE_NOT_READY',
        message: expect.stringContaining('still STARTING'),
      });
    } finally {
      emu.workspace.setInstanceState(emu.instanceName, 'AVAILABLE');
    }
    emu.workspace.setInstanceState(emu.endpoint, 'STOPPED');
    try {
      await expect(
        waitUntilReady(api, { tier: 'autoscaling', endpoint: emu.endpoint, database: undefined, source: 't' }),
      ).rejects.toMatchObject({ code: 'LAKEBASE_INSTANCE_NOT_READY', message: expect.stringContaining('disabled') });
    } finally {
      emu.workspace.setInstanceState(emu.endpoint, 'AVAILABLE');
    }
  });
});
