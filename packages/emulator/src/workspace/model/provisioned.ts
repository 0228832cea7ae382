import { INSTANCE_NAME_PATTERN, isInstanceName } from '@lakebase-kit/client/toolkit';
import { ApiError, instanceNotFound, invalidParameter, requiredField } from './api-error.js';
import { type ModelContext, rfc3339 } from './context.js';
import { paginate } from './pagination.js';
import { type InstanceRecord, randomUUID } from './state.js';

const CAPACITIES = new Set(['CU_1', 'CU_2', 'CU_4', 'CU_8']);
const UPDATABLE = [
  'capacity',
  'stopped',
  'enable_pg_native_login',
  'enable_readable_secondaries',
  'node_count',
  'retention_window_in_days',
  'custom_tags',
] as const;

/** Instance states this emulator produces (the API has more; clients must treat unknown ones as not ready). */
export type InstanceState = 'AVAILABLE' | 'STARTING' | 'STOPPED';

/** The `DatabaseInstance` fields a create or update body may carry. */
export interface InstanceInput {
  name?: string;
  capacity?: string;
  pg_version?: string;
  stopped?: boolean;
  enable_pg_native_login?: boolean;
  enable_readable_secondaries?: boolean;
  node_count?: number;
  retention_window_in_days?: number;
  custom_tags?: Array<{ key: string; value: string }>;
}

/** Lakebase Provisioned: database instances (reference section 1). */
export class InstanceModel {
  constructor(private readonly ctx: ModelContext) {}

  /** The record or undefined. */
  find(name: string): InstanceRecord | undefined {
    return this.ctx.state.instances.find((i) => i.name === name);
  }

  /** The record or a 404. */
  get(name: string): InstanceRecord {
    const found = this.find(name);
    if (!found) throw instanceNotFound(name);
    return found;
  }

  /** The record with this uid, or a 404. */
  getByUid(uid: string): InstanceRecord {
    const found = this.ctx.state.instances.find((i) => i.uid === uid);
    if (!found)
      throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `Database instance with uid '${uid}' does not exist.`);
    return found;
  }

  /** Current state, derived from the record and the clock. */
  state(instance: InstanceRecord): InstanceState {
    if (instance.stopped) return 'STOPPED';
    if (instance.pinnedStarting || this.ctx.now() < instance.availableAt) return 'STARTING';
    return 'AVAILABLE';
  }

  /** The instance's host: the configured pgHost for the default instance, a per-instance name otherwise. */
  host(instance: InstanceRecord): string {
    return instance.name === this.ctx.settings.instanceName
      ? this.ctx.settings.pgHost
      : `instance-${instance.uid}.database.localhost`;
  }

  /** Creates an instance (STARTING for `instanceStartMs`, or AVAILABLE at once when `immediate`). */
  create(input: InstanceInput, creator: string, immediate = false): InstanceRecord {
    const name = input.name;
    if (!name) throw requiredField('name');
    if (!isInstanceName(name, { lowercase: true })) {
      throw invalidParameter(
        `Invalid database instance name '${name}': it must be a valid DNS label of 1-63 lowercase letters, digits ` +
          `and hyphens that starts and ends with a letter or digit (pattern ${INSTANCE_NAME_PATTERN.source}).`,
      );
    }
    if (this.find(name)) {
      throw new ApiError(409, 'RESOURCE_ALREADY_EXISTS', `Database instance '${name}' already exists.`);
    }
    if (input.pg_version !== undefined && !/^PG_VERSION_\d+$/.test(input.pg_version)) {
      throw invalidParameter(`Invalid pg_version '${input.pg_version}': expected e.g. PG_VERSION_16.`);
    }
    const now = this.ctx.now();
    const instance: InstanceRecord = {
      name,
      uid: randomUUID(),
      capacity: 'CU_1',
      pgVersion: input.pg_version ?? 'PG_VERSION_16',
      creator,
      creationTime: now,
      enablePgNativeLogin: false,
      enableReadableSecondaries: false,
      nodeCount: 1,
      retentionWindowInDays: 7,
      stopped: false,
      availableAt: immediate ? now : now + this.ctx.settings.instanceStartMs,
      pinnedStarting: false,
    };
    applyFields(instance, input, UPDATABLE, now, this.ctx.settings.instanceStartMs);
    this.ctx.state.instances.push(instance);
    this.ctx.persist();
    return instance;
  }

  /** Lists instances by name, one page at a time. */
  list(pageSize: number | undefined, pageToken: string | undefined) {
    const sorted = [...this.ctx.state.instances].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return paginate(sorted, (i) => i.name, pageSize, pageToken);
  }

  /** Applies the fields named by `updateMask` (comma-separated; `*` = every updatable field present in the body). */
  update(name: string, updateMask: string | undefined, input: InstanceInput): InstanceRecord {
    const instance = this.get(name);
    if (!updateMask) throw requiredField('update_mask');
    const paths = updateMask.split(',').map((p) => p.trim());
    let fields: readonly string[];
    if (paths.includes('*')) {
      fields = UPDATABLE.filter((f) => (input as Record<string, unknown>)[f] !== undefined);
    } else {
      for (const path of paths) {
        if (!(UPDATABLE as readonly string[]).includes(path)) {
          throw invalidParameter(`Invalid update_mask path '${path}': updatable fields are ${UPDATABLE.join(', ')}.`);
        }
      }
      fields = paths;
    }
    applyFields(instance, input, fields, this.ctx.now(), this.ctx.settings.instanceStartMs);
    this.ctx.persist();
    return instance;
  }

  /** Deletes an instance. `purge=false` is refused, as on the real API. */
  delete(name: string, purge: boolean | undefined): void {
    if (purge === false) {
      throw invalidParameter('purge=false is not supported: soft delete is deprecated; omit purge or pass purge=true.');
    }
    this.get(name);
    this.ctx.state.instances = this.ctx.state.instances.filter((i) => i.name !== name);
    this.ctx.persist();
  }

  /** Forces a state (test knob); STARTING is pinned until changed. */
  force(instance: InstanceRecord, state: InstanceState): void {
    instance.stopped = state === 'STOPPED';
    instance.pinnedStarting = state === 'STARTING';
    if (state === 'AVAILABLE') instance.availableAt = Math.min(instance.availableAt, this.ctx.now());
    this.ctx.persist();
  }

  /** The `DatabaseInstance` JSON, shaped like a real GET (reference 1.2). */
  toJson(instance: InstanceRecord): Record<string, unknown> {
    const json: Record<string, unknown> = {
      name: instance.name,
      uid: instance.uid,
      capacity: instance.capacity,
      effective_capacity: instance.capacity,
      state: this.state(instance),
      pg_version: instance.pgVersion,
      read_write_dns: this.host(instance),
      creator: instance.creator,
      creation_time: rfc3339(instance.creationTime),
      effective_enable_pg_native_login: instance.enablePgNativeLogin,
      effective_enable_readable_secondaries: instance.enableReadableSecondaries,
      effective_node_count: instance.nodeCount,
      effective_retention_window_in_days: instance.retentionWindowInDays,
      effective_stopped: instance.stopped,
    };
    if (instance.enableReadableSecondaries) json.read_only_dns = `instance-ro-${instance.uid}.database.localhost`;
    if (instance.customTags) {
      json.custom_tags = instance.customTags;
      json.effective_custom_tags = instance.customTags;
    }
    return json;
  }
}

/** Validates and copies the named fields from `input`; restarting a stopped instance makes it STARTING again. */
function applyFields(
  instance: InstanceRecord,
  input: InstanceInput,
  fields: readonly string[],
  now: number,
  startMs: number,
): void {
  for (const field of fields) {
    switch (field) {
      case 'capacity':
        if (input.capacity === undefined) break;
        if (!CAPACITIES.has(input.capacity)) {
          throw invalidParameter(
            `Invalid capacity '${input.capacity}': expected one of ${[...CAPACITIES].join(', ')}.`,
          );
        }
        instance.capacity = input.capacity;
        break;
      case 'stopped': {
        const stopped = input.stopped ?? false;
        if (instance.stopped && !stopped) {
          instance.availableAt = now + startMs;
          instance.pinnedStarting = false;
        }
        instance.stopped = stopped;
        break;
      }
      case 'enable_pg_native_login':
        instance.enablePgNativeLogin = input.enable_pg_native_login ?? false;
        break;
      case 'enable_readable_secondaries':
        instance.enableReadableSecondaries = input.enable_readable_secondaries ?? false;
        break;
      case 'node_count': {
        const count = input.node_count ?? 1;
        if (!Number.isInteger(count) || count < 1 || count > 3) {
          throw invalidParameter(`Invalid node_count ${count}: expected 1 to 3.`);
        }
        instance.nodeCount = count;
        break;
      }
      case 'retention_window_in_days': {
        const days = input.retention_window_in_days ?? 7;
        if (!Number.isInteger(days) || days < 2 || days > 35) {
          throw invalidParameter(`Invalid retention_window_in_days ${days}: expected 2 to 35.`);
        }
        instance.retentionWindowInDays = days;
        break;
      }
      case 'custom_tags':
        if (input.custom_tags) instance.customTags = input.custom_tags;
        else delete instance.customTags;
        break;
    }
  }
}
