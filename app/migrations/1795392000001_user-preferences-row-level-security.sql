-- Up Migration
-- Per-user mode (LAKEBASE_CONNECT_AS=user): every user connects as their own PostgreSQL role (their email), so the
-- database itself keeps each user to their own rows, whatever SQL the app sends.
--
-- The policy keys on current_user. The table's owner (the app's service principal, which runs the migrations) is not
-- subject to its own table's policies (RLS is enabled, not FORCEd), so service-principal mode (LAKEBASE_CONNECT_AS=app)
-- keeps its behaviour, filtering on user_email in the app, and the owner can still manage policies and grants.
-- BYPASSRLS is not needed (a Lakebase app role cannot be given it anyway).
ALTER TABLE user_preferences ENABLE ROW LEVEL SECURITY;
CREATE POLICY user_preferences_own_rows ON user_preferences
  USING (user_email = current_user)
  WITH CHECK (user_email = current_user);

-- Users get the table privileges through one group role, lakebase_app_users: its members are the users allowed in.
-- `lakebase grant --to lakebase_app_users --members a@example.com,...` creates it, grants it the tables and adds the
-- members (idempotent). If it exists already, grant it the table now.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lakebase_app_users') THEN
    GRANT SELECT, INSERT, UPDATE, DELETE ON user_preferences TO lakebase_app_users;
  END IF;
END
$$;

-- Down Migration
DROP POLICY user_preferences_own_rows ON user_preferences;
ALTER TABLE user_preferences DISABLE ROW LEVEL SECURITY;
