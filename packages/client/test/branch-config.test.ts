/** LAKEBASE_BRANCH / { branch }: the endpoint moves to the branch, the other branch's host is dropped. */
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/index.js';

const BASE = {
  DATABRICKS_HOST: 'https://example.cloud.databricks.com',
  LAKEBASE_ENDPOINT: 'projects/app/branches/production/endpoints/primary',
  PGHOST: 'ep-production.database.example.com',
};

describe('LAKEBASE_BRANCH', () => {
  it('moves the endpoint to the branch and looks its host up', () => {
    const config = resolveConfig({}, { ...BASE, LAKEBASE_BRANCH: 'dev-alice' });
    expect(config).toMatchObject({ branch: 'dev-alice', host: undefined });
    expect(config.endpoint).toBe('projects/app/branches/dev-alice/endpoints/primary');
    expect(config.sources.branch).toBe('LAKEBASE_BRANCH');
    expect(config.sources.host).toBeUndefined();
  });

  it('keeps everything for the branch already configured; the option wins over the variable', () => {
    expect(resolveConfig({}, { ...BASE, LAKEBASE_BRANCH: 'production' })).toMatchObject({
      branch: 'production',
      host: BASE.PGHOST,
      endpoint: BASE.LAKEBASE_ENDPOINT,
    });
    expect(resolveConfig({ branch: 'pr-7' }, { ...BASE, LAKEBASE_BRANCH: 'dev-alice' }).endpoint).toBe(
      'projects/app/branches/pr-7/endpoints/primary',
    );
    expect(resolveConfig({}, BASE).branch).toBeUndefined();
  });

  it('refuses a branch without an Autoscaling endpoint, and a malformed name', () => {
    const provisioned = { DATABRICKS_HOST: BASE.DATABRICKS_HOST, LAKEBASE_INSTANCE_NAME: 'db', LAKEBASE_BRANCH: 'dev' };
    expect(() => resolveConfig({}, provisioned)).toThrow(expect.objectContaining({ code: 'LAKEBASE_CONFIG_INVALID' }));
    const url = { LAKEBASE_PG_URL: 'postgresql://u@localhost/db', LAKEBASE_BRANCH: 'dev' };
    expect(() => resolveConfig({}, url)).toThrow(expect.objectContaining({ code: 'LAKEBASE_CONFIG_INVALID' }));
    expect(() => resolveConfig({}, { ...BASE, LAKEBASE_BRANCH: 'Dev_Alice' })).toThrow(
      expect.objectContaining({ code: 'LAKEBASE_CONFIG_INVALID', message: expect.stringContaining('Dev_Alice') }),
    );
  });
});
