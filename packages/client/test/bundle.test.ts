/** databricks.yml parsing: targets, variables, resource references, both tiers. */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { bundleResourcesOf } from '../src/config/bundle.js';

const doc = (text: string) => parse(text) as Record<string, unknown>;

describe('bundleResourcesOf', () => {
  it('Provisioned: default target, variables, catalog database, deduplicated with the app resource', () => {
    const bundle = doc(`
bundle: { name: shop }
variables:
  env: { default: dev }
resources:
  database_instances:
    db: { name: "shop-\${var.env}", capacity: CU_1 }
  database_catalogs:
    cat: { database_instance_name: "\${resources.database_instances.db.name}", database_name: app_database, name: c }
  apps:
    app:
      resources:
        - name: database
          database: { instance_name: "\${resources.database_instances.db.name}", database_name: app_database }
targets:
  dev: { default: true }
  prod: { variables: { env: prod } }
`);
    expect(bundleResourcesOf(bundle, '/x/databricks.yml')).toEqual({
      file: '/x/databricks.yml',
      target: 'dev',
      resources: [
        {
          tier: 'provisioned',
          instanceName: 'shop-dev',
          database: 'app_database',
          source: 'databricks.yml (target dev)',
        },
      ],
      unresolved: [],
    });
    expect(bundleResourcesOf(bundle, '/x/databricks.yml', 'prod').resources[0]).toMatchObject({
      instanceName: 'shop-prod',
    });
    expect(() => bundleResourcesOf(bundle, '/x/databricks.yml', 'qa')).toThrow(/Target 'qa' is not defined/);
  });

  it('Autoscaling: the app postgres resource gives project, branch and database; target resources merge in', () => {
    const bundle = doc(`
resources:
  postgres_databases:
    d: { database_id: appdb, parent: projects/shop/branches/main, postgres_database: app_database }
targets:
  dev:
    resources:
      apps:
        app:
          resources:
            - name: postgres
              postgres: { branch: projects/shop/branches/main, database: projects/shop/branches/main/databases/appdb }
`);
    expect(bundleResourcesOf(bundle, 'databricks.yml', 'dev').resources).toEqual([
      {
        tier: 'autoscaling',
        project: 'projects/shop',
        branch: 'projects/shop/branches/main',
        database: 'app_database',
        source: 'databricks.yml (target dev)',
      },
    ]);
  });

  it('references it cannot resolve are reported and the resource skipped', () => {
    const bundle = doc(`
resources:
  database_instances:
    db: { name: "db-\${workspace.current_user.short_name}" }
`);
    expect(bundleResourcesOf(bundle, 'databricks.yml')).toMatchObject({
      target: undefined,
      resources: [],
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal bundle reference, not a template
      unresolved: ['${workspace.current_user.short_name}'],
    });
  });
});
