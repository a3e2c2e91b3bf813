-- Personal access tokens (issue 19): long-lived API credentials with scopes. Only the SHA-256 of
-- the secret is kept (hex, compared by lookup on the unique key). A revoked token's row is
-- deleted (the audit log keeps the record); a deleted user's tokens go with the account.
-- `last_used_at` / `last_used_ip` are written at most once a minute per token. `user_version` is
-- the owner's `token_version` when it was made: a token works only while they are equal, so a
-- password change or reset, "sign out everywhere", disabling or demoting ends it as it ends
-- every session (SECURITY.md requirement 2).
CREATE TABLE access_tokens (
    id           BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id      BIGINT       NOT NULL,
    name         VARCHAR(100) NOT NULL,
    token_hash   CHAR(64)     CHARACTER SET ascii NOT NULL,
    scopes       VARCHAR(32)  NOT NULL,
    created_at   DATETIME(3)  NOT NULL,
    expires_at   DATETIME(3),
    last_used_at DATETIME(3),
    last_used_ip VARCHAR(64),
    user_version BIGINT       NOT NULL DEFAULT 0,
    UNIQUE KEY access_tokens_hash (token_hash),
    KEY access_tokens_user (user_id, id),
    CONSTRAINT access_tokens_owner FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
