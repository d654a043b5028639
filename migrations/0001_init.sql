-- sandboxd schema, version 1.
--
-- Migrations are applied by src/registry/sqlite_registry.cc, all pending ones inside a single
-- BEGIN IMMEDIATE transaction that also sets PRAGMA user_version; so a migration file must
-- not contain BEGIN/COMMIT itself. Timestamps are INTEGER unix milliseconds (UTC).
-- Tables are STRICT (SQLite >= 3.37) so a wrongly typed value fails loudly.

-- One row per sandbox sandboxd manages. `name` is unique across the whole service (it names
-- the Kubernetes objects), not per user.
CREATE TABLE sandboxes (
  name            TEXT    NOT NULL PRIMARY KEY CHECK (length(name) > 0),
  user            TEXT    NOT NULL CHECK (length(user) > 0),
  namespace       TEXT    NOT NULL,
  sandbox_id      TEXT    NOT NULL,
  image           TEXT    NOT NULL DEFAULT '',
  -- JSON object of non-secret env values; secret values live only in the {name}-env Secret.
  env             TEXT    NOT NULL DEFAULT '{}'
                          CHECK (json_valid(env) AND json_type(env) = 'object'),
  -- JSON array of the secret env names.
  secret_env_keys TEXT    NOT NULL DEFAULT '[]'
                          CHECK (json_valid(secret_env_keys)
                                 AND json_type(secret_env_keys) = 'array'),
  storage         TEXT    NOT NULL DEFAULT '',
  desired         TEXT    NOT NULL DEFAULT 'running'
                          CHECK (desired IN ('running', 'stopped', 'deleted')),
  purge           INTEGER NOT NULL DEFAULT 0 CHECK (purge IN (0, 1)),
  -- Not CHECKed: new phases must not need a table rebuild. The reader rejects unknown ones.
  phase           TEXT    NOT NULL,
  reason          TEXT    NOT NULL DEFAULT '',
  message         TEXT    NOT NULL DEFAULT '',
  workload        TEXT    NOT NULL DEFAULT 'StatefulSet'
                          CHECK (workload IN ('StatefulSet', 'Deployment')),
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  -- Bumped on every update; updates compare-and-set on it.
  version         INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1)
) STRICT;

-- Listing a user's sandboxes, ordered by name.
CREATE INDEX sandboxes_by_user ON sandboxes (user, name);

-- API tokens. Only the SHA-256 of a token is stored; the plaintext is shown once.
CREATE TABLE tokens (
  id         TEXT    NOT NULL PRIMARY KEY CHECK (length(id) > 0),
  user       TEXT    NOT NULL CHECK (length(user) > 0),
  admin      INTEGER NOT NULL DEFAULT 0 CHECK (admin IN (0, 1)),
  token_hash TEXT    NOT NULL UNIQUE
                     CHECK (length(token_hash) = 64 AND token_hash NOT GLOB '*[^0-9a-f]*'),
  created_at INTEGER NOT NULL
) STRICT;

CREATE INDEX tokens_by_user ON tokens (user);

-- Arbitrary durable values keyed by (kind, name), e.g. a Deployment saved by `migrate` for
-- rollback. BLOB so any bytes round-trip.
CREATE TABLE blobs (
  kind       TEXT    NOT NULL CHECK (length(kind) > 0),
  name       TEXT    NOT NULL,
  value      BLOB    NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (kind, name)
) STRICT, WITHOUT ROWID;
