-- Kept in step with ../mysql/20261202200001_two_factor.sql.
-- Two-factor sign-in (TOTP, RFC 6238; issue 18). One row per account that started enrolment:
-- `enabled_at` NULL while the enrolment waits for its first code. The secret is stored
-- encrypted (XChaCha20-Poly1305 under a key derived from `jwt_secret`, the user id as
-- associated data: src/auth/totp.rs), so a database backup alone does not give it out.
-- `last_step` is the last 30-second time step a code was accepted for: a code is accepted
-- only for a later step (`UPDATE ... WHERE last_step < ?`), so a replayed code, and the second
-- of two sign-ins racing with one code, is refused.
CREATE TABLE user_totp (
    user_id    INTEGER NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret     TEXT    NOT NULL,
    enabled_at TEXT,
    last_step  INTEGER NOT NULL DEFAULT -1,
    created_at TEXT    NOT NULL
);

-- One-time recovery codes, stored as the hex SHA-256 of the normalised code.
CREATE TABLE totp_recovery_codes (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT    NOT NULL,
    used_at   TEXT,
    created_at TEXT   NOT NULL
);
CREATE UNIQUE INDEX totp_recovery_codes_user_hash ON totp_recovery_codes (user_id, code_hash);
