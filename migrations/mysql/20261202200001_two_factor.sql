-- Kept in step with ../sqlite/20261202200001_two_factor.sql.
-- Two-factor sign-in (TOTP, RFC 6238; issue 18). One row per account that started enrolment:
-- `enabled_at` NULL while the enrolment waits for its first code. The secret is stored
-- encrypted (XChaCha20-Poly1305 under a key derived from `jwt_secret`, the user id as
-- associated data: src/auth/totp.rs), so a database backup alone does not give it out.
-- `last_step` is the last 30-second time step a code was accepted for: a code is accepted
-- only for a later step (`UPDATE ... WHERE last_step < ?`), so a replayed code, and the second
-- of two sign-ins racing with one code, is refused.
CREATE TABLE user_totp (
    user_id    BIGINT       NOT NULL PRIMARY KEY,
    secret     VARCHAR(255) NOT NULL,
    enabled_at DATETIME(3),
    last_step  BIGINT       NOT NULL DEFAULT -1,
    created_at DATETIME(3)  NOT NULL,
    CONSTRAINT user_totp_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- One-time recovery codes, stored as the hex SHA-256 of the normalised code.
CREATE TABLE totp_recovery_codes (
    id         BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id    BIGINT      NOT NULL,
    code_hash  CHAR(64)    NOT NULL,
    used_at    DATETIME(3),
    created_at DATETIME(3) NOT NULL,
    UNIQUE KEY totp_recovery_codes_user_hash (user_id, code_hash),
    CONSTRAINT totp_recovery_codes_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
