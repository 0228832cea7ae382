import type pg from 'pg';
import { catalogStatement } from './catalog-race.js';
import { ROLE_MARK, SUPERUSER_ROLE } from './role-trust.js';

/**
 * `databricks_create_role(name, identity_type)`, the SQL way Lakebase offers to make a role for a Databricks identity
 * (there after `CREATE EXTENSION databricks_auth`). The emulator installs it in schema `public` of each database, owned
 * by its superuser (SECURITY DEFINER with a pinned search_path); `CREATE EXTENSION databricks_auth` is not needed and
 * not available. As on Lakebase only members of `databricks_superuser` (the owner) may call it; anyone else gets
 * 42501 before the arguments are looked at. Whoever makes a GROUP role gets ADMIN on it (to add members). The role is
 * marked as made through an authorised path (see role-trust.ts), and the workspace finds it at the identity's first
 * login.
 */
const CREATE_FUNCTION = `
DROP FUNCTION IF EXISTS public.databricks_create_role(text, text);
CREATE FUNCTION public.databricks_create_role(role_name text, identity_type text)
RETURNS text LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $fn$
BEGIN
  -- session_user: the role the client logged in as (current_user is this function's owner here).
  IF NOT pg_has_role(session_user, '${SUPERUSER_ROLE}', 'MEMBER') THEN
    RAISE EXCEPTION 'permission denied to create role' USING ERRCODE = '42501',
      DETAIL = 'Only members of ${SUPERUSER_ROLE} may create roles with databricks_create_role.',
      HINT = 'Connect as the project owner, or create the role with the roles API.';
  END IF;
  IF role_name IS NULL OR length(role_name) = 0 OR length(role_name) > 63 THEN
    RAISE EXCEPTION 'role name must have 1 to 63 characters' USING ERRCODE = '22023';
  END IF;
  IF upper(identity_type) NOT IN ('USER', 'SERVICE_PRINCIPAL', 'GROUP') THEN
    RAISE EXCEPTION 'identity_type must be USER, SERVICE_PRINCIPAL or GROUP, got %', identity_type USING ERRCODE = '22023';
  END IF;
  EXECUTE format('CREATE ROLE %I %s', role_name, CASE WHEN upper(identity_type) = 'GROUP' THEN 'NOLOGIN' ELSE 'LOGIN' END);
  EXECUTE format('COMMENT ON ROLE %I IS %L', role_name, '${ROLE_MARK}');
  -- The caller may manage a group it made (add and remove members), as a CREATEROLE creator can in PostgreSQL 16+.
  IF upper(identity_type) = 'GROUP' THEN
    EXECUTE format('GRANT %I TO %I WITH ADMIN OPTION', role_name, session_user);
  END IF;
  RETURN role_name;
END
$fn$;
ALTER FUNCTION public.databricks_create_role(text, text) OWNER TO CURRENT_USER;`;

/**
 * Installs (or replaces) the role functions in the database `pool` reaches, as its superuser: an older copy, or one a
 * client made first under that name, is dropped, so the function that runs is this one, owned by the superuser.
 * Run once per database and process; a concurrent installer winning is fine.
 */
export async function installRoleFunctions(pool: pg.Pool): Promise<void> {
  try {
    await catalogStatement(pool, CREATE_FUNCTION); // one simple query: one transaction
  } catch (err) {
    // 42723 / 23505: made by a concurrent emulator on the same upstream.
    const code = (err as { code?: string }).code;
    if (code !== '42723' && code !== '23505') throw err;
  }
}
