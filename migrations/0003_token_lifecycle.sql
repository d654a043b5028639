-- sandboxd schema, version 3: token lifecycle.
--
-- A token may expire (expires_at, unix milliseconds; NULL: never) and be revoked (revoked_at;
-- NULL: not revoked). A revoked token's row is kept so that `token list` still shows it and
-- its id cannot be reused; authentication refuses it.
ALTER TABLE tokens ADD COLUMN expires_at INTEGER;
ALTER TABLE tokens ADD COLUMN revoked_at INTEGER;
