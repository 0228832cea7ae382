import { ApiError, invalidParameter } from './api-error.js';
import type { ModelContext } from './context.js';
import type { IdentityRecord, InstanceRecord, ProjectRecord } from './state.js';

/**
 * Who may manage a Lakebase resource (and so its PostgreSQL roles), as the Databricks Permissions API grants it on
 * `database-instances/{name}` and `database-projects/{project_id}`: CAN_MANAGE (change it and its roles) and CAN_USE
 * (see it and its roles). The creator and the workspace's own user (standing in for a workspace admin) hold
 * CAN_MANAGE without a grant; nobody else holds anything until granted. No groups, no other admins (README).
 */
export type PermissionLevel = 'CAN_USE' | 'CAN_MANAGE';
export type PermissionObject = 'database-instances' | 'database-projects';
const LEVELS: readonly PermissionLevel[] = ['CAN_USE', 'CAN_MANAGE'];

/** A grant, keyed by the resource's uid so a resource deleted and made again under its name starts with none. */
export interface PermissionGrant {
  object: PermissionObject;
  uid: string;
  userName: string;
  level: PermissionLevel;
}

/** A resource as the permission checks see it. */
export interface GuardedResource {
  object: PermissionObject;
  /** The name the Permissions API and the messages use: instance name or project id. */
  id: string;
  uid: string;
  creator: string;
}

export const instanceResource = (i: InstanceRecord): GuardedResource => ({
  object: 'database-instances',
  id: i.name,
  uid: i.uid,
  creator: i.creator,
});
export const projectResource = (p: ProjectRecord): GuardedResource => ({
  object: 'database-projects',
  id: p.projectId,
  uid: p.uid,
  creator: p.owner,
});

const NOUN: Record<PermissionObject, string> = {
  'database-instances': 'database instance',
  'database-projects': 'database project',
};

export class PermissionModel {
  constructor(
    private readonly ctx: ModelContext & { state: { permissions?: PermissionGrant[] } },
    private readonly identityExists: (userName: string) => boolean,
  ) {}

  private grants(): PermissionGrant[] {
    this.ctx.state.permissions ??= [];
    return this.ctx.state.permissions;
  }

  /** The highest level `userName` holds on `resource`, or undefined. */
  levelOf(userName: string, resource: GuardedResource): PermissionLevel | undefined {
    if (userName === this.ctx.settings.userName || userName === resource.creator) return 'CAN_MANAGE';
    const held = this.grants().filter((g) => g.uid === resource.uid && g.userName === userName);
    if (held.some((g) => g.level === 'CAN_MANAGE')) return 'CAN_MANAGE';
    return held.length > 0 ? 'CAN_USE' : undefined;
  }

  /** Whether `userName` holds `need` (CAN_MANAGE implies CAN_USE). */
  may(userName: string, resource: GuardedResource, need: PermissionLevel): boolean {
    const held = this.levelOf(userName, resource);
    return held === 'CAN_MANAGE' || (held !== undefined && held === need);
  }

  /** 403 PERMISSION_DENIED unless the caller holds `need` on `resource`. */
  require(caller: IdentityRecord, resource: GuardedResource, need: PermissionLevel): void {
    if (this.may(caller.userName, resource, need)) return;
    throw new ApiError(
      403,
      'PERMISSION_DENIED',
      `User ${caller.userName} does not have ${need} permission on ${NOUN[resource.object]} '${resource.id}'.`,
    );
  }

  /**
   * Roles are one list for every instance and branch (README), so a delete through a resource the caller manages must
   * not reach a role made through another one: the caller must also manage the resource the role was made through
   * (`madeOn`, its uid; gone: nothing more to check) or, for a role no roles API call made (an identity's own, one
   * made in SQL), the workspace's default instance or project.
   */
  requireRoleHome(caller: IdentityRecord, role: { postgresRole: string; madeOn?: string }): void {
    const { state, settings } = this.ctx;
    const homes: GuardedResource[] =
      role.madeOn === undefined
        ? [
            ...state.instances.filter((i) => i.name === settings.instanceName).map(instanceResource),
            ...state.projects.filter((p) => p.projectId === settings.projectId).map(projectResource),
          ]
        : [
            ...state.instances.filter((i) => i.uid === role.madeOn).map(instanceResource),
            ...state.projects.filter((p) => p.uid === role.madeOn).map(projectResource),
          ];
    if (homes.length === 0 || homes.some((home) => this.may(caller.userName, home, 'CAN_MANAGE'))) return;
    const home = homes[0] as GuardedResource;
    throw new ApiError(
      403,
      'PERMISSION_DENIED',
      `User ${caller.userName} does not have CAN_MANAGE permission on ${NOUN[home.object]} '${home.id}', ` +
        `where role "${role.postgresRole}" was made.`,
    );
  }

  /**
   * The Permissions API's PATCH: adds grants (a level already held by that user is replaced). Only users and service
   * principals of the workspace; CAN_CREATE is inherited and cannot be granted (400, as Lakebase answers).
   */
  grant(resource: GuardedResource, accessControlList: unknown): void {
    if (!Array.isArray(accessControlList) || accessControlList.length === 0 || accessControlList.length > 100) {
      throw invalidParameter('access_control_list must be a list of 1 to 100 entries.');
    }
    const parsed = accessControlList.map((entry) => {
      const {
        user_name: user,
        service_principal_name: sp,
        group_name: group,
        permission_level: level,
      } = (entry ?? {}) as Record<string, unknown>;
      if (group !== undefined) throw invalidParameter('The emulator does not model groups: grant to a user_name.');
      const userName = user ?? sp;
      if (typeof userName !== 'string' || !this.identityExists(userName)) {
        throw invalidParameter(`Principal '${String(userName)}' does not exist in this workspace.`);
      }
      if (!LEVELS.includes(level as PermissionLevel)) {
        throw invalidParameter(`permission_level must be one of ${LEVELS.join(', ')} (CAN_CREATE is inherited).`);
      }
      return { userName, level: level as PermissionLevel };
    });
    const kept = this.grants().filter(
      (g) => !(g.uid === resource.uid && parsed.some((p) => p.userName === g.userName)),
    );
    const added = parsed.map((p) => ({ object: resource.object, uid: resource.uid, ...p }));
    this.ctx.state.permissions = [...kept, ...added];
    this.ctx.persist();
  }

  /** The Permissions API's GET body: the creator and the workspace's user (CAN_MANAGE) and every grant. */
  acl(resource: GuardedResource): Record<string, unknown> {
    const levels = new Map<string, PermissionLevel>();
    for (const g of this.grants()) if (g.uid === resource.uid) levels.set(g.userName, g.level);
    levels.set(resource.creator, 'CAN_MANAGE');
    levels.set(this.ctx.settings.userName, 'CAN_MANAGE');
    return {
      object_id: `/${resource.object}/${resource.id}`,
      object_type: resource.object.replace(/s$/, ''),
      access_control_list: [...levels].map(([userName, level]) => ({
        user_name: userName,
        all_permissions: [{ permission_level: level, inherited: false }],
      })),
    };
  }
}
