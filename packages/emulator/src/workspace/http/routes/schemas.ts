/** JSON schemas shared by the routes. Types only: required fields are checked in code, for Databricks' wording. */

export const pageQuery = {
  type: 'object',
  properties: { page_size: { type: 'integer' }, page_token: { type: 'string' } },
} as const;

export const tags = {
  type: 'array',
  items: { type: 'object', properties: { key: { type: 'string' }, value: { type: 'string' } }, required: ['key'] },
} as const;

export const instanceBody = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    capacity: { type: 'string' },
    pg_version: { type: 'string' },
    stopped: { type: 'boolean' },
    enable_pg_native_login: { type: 'boolean' },
    enable_readable_secondaries: { type: 'boolean' },
    node_count: { type: 'integer' },
    retention_window_in_days: { type: 'integer' },
    custom_tags: tags,
  },
} as const;

const sizing = {
  autoscaling_limit_min_cu: { type: 'number' },
  autoscaling_limit_max_cu: { type: 'number' },
  suspend_timeout_duration: { type: 'string' },
  no_suspension: { type: 'boolean' },
} as const;

export const projectBody = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      properties: {
        display_name: { type: 'string' },
        pg_version: { type: 'integer' },
        history_retention_duration: { type: 'string' },
        enable_pg_native_login: { type: 'boolean' },
        custom_tags: tags,
        default_endpoint_settings: { type: 'object', properties: sizing },
      },
    },
    initial_endpoint_spec: { type: 'object', properties: sizing },
  },
} as const;

export const branchBody = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      properties: {
        source_branch: { type: 'string' },
        source_branch_time: { type: 'string' },
        source_branch_lsn: { type: 'string' },
        is_protected: { type: 'boolean' },
        ttl: { type: 'string' },
        expire_time: { type: 'string' },
        no_expiry: { type: 'boolean' },
      },
    },
  },
} as const;

export const endpointBody = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      properties: { ...sizing, endpoint_type: { type: 'string' }, disabled: { type: 'boolean' } },
    },
  },
} as const;

export const claims = { type: 'array', items: { type: 'object' } } as const;
