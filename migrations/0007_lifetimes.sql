-- sandboxd schema, version 7: idle auto-stop, expiry and volume growth (issue 24).
--
-- idle_stop_minutes: the sandbox's own idle period (NULL: its profile's idleStopMinutes;
-- 0: never). expires_at: when the reconciler deletes it, its home volume kept (NULL: never).
-- last_activity_at: the last lifecycle request or POST .../activity, in Unix milliseconds;
-- only ever raised (writes keep the larger value), so a request holding an older copy of the
-- row never moves it back. Existing sandboxes count from their last update.
ALTER TABLE sandboxes ADD COLUMN idle_stop_minutes INTEGER
  CHECK (idle_stop_minutes IS NULL OR idle_stop_minutes BETWEEN 0 AND 65535);
ALTER TABLE sandboxes ADD COLUMN expires_at INTEGER;
ALTER TABLE sandboxes ADD COLUMN last_activity_at INTEGER NOT NULL DEFAULT 0;
UPDATE sandboxes SET last_activity_at = updated_at;

-- The operation record learns the kinds 'idle_stop', 'expire' and 'resize'. A CHECK cannot
-- be altered in SQLite: the table is rebuilt, ids and the AUTOINCREMENT counter kept.
CREATE TABLE operations_next (
  id           INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
  sandbox      TEXT    NOT NULL CHECK (length(sandbox) > 0),
  sandbox_id   TEXT    NOT NULL CHECK (length(sandbox_id) > 0),
  kind         TEXT    NOT NULL
                       CHECK (kind IN ('create', 'stop', 'start', 'update_env', 'delete',
                                       'snapshot', 'restore', 'idle_stop', 'expire',
                                       'resize')),
  user         TEXT    NOT NULL,
  state        TEXT    NOT NULL
                       CHECK (state IN ('pending', 'done', 'failed', 'superseded')),
  error        TEXT    NOT NULL DEFAULT '',
  requested_at INTEGER NOT NULL,
  finished_at  INTEGER
) STRICT;
INSERT INTO operations_next (id, sandbox, sandbox_id, kind, user, state, error, requested_at,
                           finished_at)
  SELECT id, sandbox, sandbox_id, kind, user, state, error, requested_at, finished_at
  FROM operations;
DELETE FROM sqlite_sequence WHERE name = 'operations_next';
INSERT INTO sqlite_sequence (name, seq)
  SELECT 'operations_next', seq FROM sqlite_sequence WHERE name = 'operations';
DROP TABLE operations;
ALTER TABLE operations_next RENAME TO operations;
CREATE INDEX operations_by_sandbox ON operations (sandbox_id, id);
CREATE INDEX operations_pending ON operations (sandbox_id) WHERE state = 'pending';
