-- Kept in step with ../sqlite/20261202200002_two_factor_pending_used.sql.
-- Two-factor review fixes. The half-done browser sign-ins (src/auth/pending_login.rs) that have been completed: the
-- cookie's random nonce is recorded when its code is right, in one `INSERT` (the primary key),
-- so of two uses of one cookie exactly one signs in, and a saved cookie cannot be replayed
-- with a later code. Rows past `expires_at` (the cookie's own expiry) are dropped for the
-- account at its next completed sign-in.
CREATE TABLE totp_pending_used (
    nonce      VARCHAR(64) NOT NULL PRIMARY KEY,
    user_id    BIGINT      NOT NULL,
    expires_at DATETIME(3) NOT NULL,
    KEY totp_pending_used_user (user_id, expires_at),
    CONSTRAINT totp_pending_used_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- The browser session that started a pending enrolment (`sessions.id`; NULL over the API): a
-- wrong first code on the site's set-up page shows the key again only to that session.
ALTER TABLE user_totp ADD COLUMN started_sid VARCHAR(64) NULL;
