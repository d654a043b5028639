-- sandboxd schema, version 2: the operation record.
--
-- One row per request that changes a sandbox (create, stop, start, update_env, delete),
-- written with the intent before any cluster call and finished by whoever carries it out.
-- Kept after the sandbox's row goes (a short history per sandbox id, pruned on insert).
CREATE TABLE operations (
  id           INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
  sandbox      TEXT    NOT NULL CHECK (length(sandbox) > 0),
  sandbox_id   TEXT    NOT NULL CHECK (length(sandbox_id) > 0),
  kind         TEXT    NOT NULL
                       CHECK (kind IN ('create', 'stop', 'start', 'update_env', 'delete')),
  user         TEXT    NOT NULL,
  state        TEXT    NOT NULL
                       CHECK (state IN ('pending', 'done', 'failed', 'superseded')),
  error        TEXT    NOT NULL DEFAULT '',
  requested_at INTEGER NOT NULL,
  finished_at  INTEGER
) STRICT;

-- A sandbox's history, newest first.
CREATE INDEX operations_by_sandbox ON operations (sandbox_id, id);
-- The reconciler's question: which sandboxes have something pending.
CREATE INDEX operations_pending ON operations (sandbox_id) WHERE state = 'pending';
