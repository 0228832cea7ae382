import type pg from 'pg';

/**
 * `databricks_create_role(name, identity_type)`, the SQL way Lakebase offers to make a role for a Databricks identity
 * (there after `CREATE EXTENSION databricks_auth`). The emulator installs it in schema `public` of each database, owned
 * by its superuser (SECURITY DEFINER with a pinned search_path); `CREATE EXTENSION databricks_auth` is not needed and
 * not available. Any role may call it here; whoever makes a GROUP role gets ADMIN on it (to add members). The
 * workspace finds a role made this way at the identity's first login.
 */
const CREATE_FUNCTION = `
CREATE FUNCTION public.databricks_create_role(role_name text, identity_type text)
RETURNS text LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $fn$
BEGIN
  IF role_name IS NULL OR length(role_name) = 0 OR length(role_name) > 63 THEN
    RAISE EXCEPTION 'role name must have 1 to 63 characters' USING ERRCODE = '22023';
  END IF;
  IF upper(identity_type) NOT IN ('USER', 'SERVICE_PRINCIPAL', 'GROUP') THEN
    RAISE EXCEPTION 'identity_type must be USER, SERVICE_PRINCIPAL or GROUP, got %', identity_type USING ERRCODE = '22023';
  END IF;
  EXECUTE format('CREATE ROLE %I %s', role_name, CASE WHEN upper(identity_type) = 'GROUP' THEN 'NOLOGIN' ELSE 'LOGIN' END);
  -- The caller may manage a group it made (add and remove members), as a CREATEROLE creator can in PostgreSQL 16+.
  IF upper(identity_type) = 'GROUP' THEN
    EXECUTE format('GRANT %I TO %I WITH ADMIN OPTION', role_name, session_user);
  END IF;
  RETURN role_name;
END
$fn$`;

/** Installs the role functions in the database `pool` reaches, once; a concurrent installer winning is fine. */
export async function installRoleFunctions(pool: pg.Pool): Promise<void> {
  const found = await pool.query(
    "SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' AND p.proname = 'databricks_create_role'",
  );
  if (found.rowCount) return;
  try {
    await pool.query(CREATE_FUNCTION);
  } catch (err) {
    // 42723: made by a concurrent emulator on the same upstream; XX000: "tuple concurrently updated".
    const code = (err as { code?: string }).code;
    if (code !== '42723' && code !== 'XX000') throw err;
  }
}
