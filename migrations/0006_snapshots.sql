-- sandboxd schema, version 5: home-volume snapshots (issue 23).
--
-- One row per snapshot sandboxd took: a VolumeSnapshot of the sandbox's home PVC. Written
-- (pending) before the object is created, so the cluster never holds a snapshot the registry
-- does not know; kept after the sandbox's row goes (a purge keeps its snapshots).
CREATE TABLE snapshots (
  id          TEXT    NOT NULL PRIMARY KEY
                      CHECK (length(id) > 0 AND id NOT GLOB '*[^0-9a-f]*'),
  sandbox     TEXT    NOT NULL CHECK (length(sandbox) > 0),
  sandbox_id  TEXT    NOT NULL CHECK (length(sandbox_id) > 0),
  user        TEXT    NOT NULL CHECK (length(user) > 0),
  namespace   TEXT    NOT NULL,
  object_name TEXT    NOT NULL CHECK (length(object_name) > 0),
  label       TEXT    NOT NULL DEFAULT '',
  state       TEXT    NOT NULL CHECK (state IN ('pending', 'ready', 'failed')),
  size        TEXT    NOT NULL DEFAULT '',
  error       TEXT    NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL,
  ready_at    INTEGER
) STRICT;

-- The snapshots of a sandbox name, newest first (those of a purged sandbox stay listed under
-- its name for their owner).
CREATE INDEX snapshots_by_sandbox ON snapshots (sandbox, created_at);

-- The operation record learns the kinds 'snapshot' and 'restore' (restore: the next stage of
-- issue 23). A CHECK cannot be altered in SQLite: the table is rebuilt, ids and the
-- AUTOINCREMENT counter kept.
CREATE TABLE operations_next (
  id           INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
  sandbox      TEXT    NOT NULL CHECK (length(sandbox) > 0),
  sandbox_id   TEXT    NOT NULL CHECK (length(sandbox_id) > 0),
  kind         TEXT    NOT NULL
                       CHECK (kind IN ('create', 'stop', 'start', 'update_env', 'delete',
                                       'snapshot', 'restore')),
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
