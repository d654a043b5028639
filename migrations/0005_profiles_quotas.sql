-- sandboxd schema, version 5: sandbox profiles and per-user quota overrides.
--
-- The profile (sandbox.profiles) a sandbox was created with, so that every later render of its
-- StatefulSet (start, migration, the reconciler's repairs) uses the same settings. Sandboxes
-- before this version had the sandbox.* settings: the implicit profile 'default'.
ALTER TABLE sandboxes ADD COLUMN profile TEXT NOT NULL DEFAULT 'default';

-- An admin's limits for one user over the configured quotas (config `quotas`). NULL: the
-- configured limit applies; 0 (or '' for storage): unlimited for this user.
CREATE TABLE user_quotas (
  user          TEXT PRIMARY KEY,
  max_sandboxes INTEGER CHECK (max_sandboxes IS NULL OR max_sandboxes >= 0),
  max_running   INTEGER CHECK (max_running IS NULL OR max_running >= 0),
  max_storage   TEXT,
  updated_at    INTEGER NOT NULL
);
