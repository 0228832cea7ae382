-- Up Migration
-- One row per (user, key). The user is the email the Databricks Apps proxy forwards (X-Forwarded-Email).
CREATE TABLE user_preferences (
  user_email text NOT NULL,
  key text NOT NULL,
  value jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_email, key),
  CONSTRAINT user_preferences_key_format CHECK (key ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$')
);

-- Down Migration
DROP TABLE user_preferences;
