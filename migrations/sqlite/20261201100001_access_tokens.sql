-- Personal access tokens (issue 19): long-lived API credentials with scopes. Only the SHA-256 of
-- the secret is kept (hex, compared by lookup on the unique key). A revoked token's row is
-- deleted (the audit log keeps the record); a deleted user's tokens go with the account.
-- `last_used_at` / `last_used_ip` are written at most once a minute per token. `user_version` is
-- the owner's `token_version` when it was made: a token works only while they are equal, so a
-- password change or reset, "sign out everywhere", disabling or demoting ends it as it ends
-- every session (SECURITY.md requirement 2).
CREATE TABLE access_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL UNIQUE,
    scopes       TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    expires_at   TEXT,
    last_used_at TEXT,
    last_used_ip TEXT,
    user_version INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX access_tokens_user ON access_tokens (user_id, id);
