-- Kept in step with ../mysql/20261202200002_two_factor_pending_used.sql.
-- Two-factor review fixes. The half-done browser sign-ins (src/auth/pending_login.rs) that have been completed: the
-- cookie's random nonce is recorded when its code is right, in one `INSERT` (the primary key),
-- so of two uses of one cookie exactly one signs in, and a saved cookie cannot be replayed
-- with a later code. Rows past `expires_at` (the cookie's own expiry) are dropped for the
-- account at its next completed sign-in.
CREATE TABLE totp_pending_used (
    nonce      TEXT    NOT NULL PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at TEXT    NOT NULL
);
CREATE INDEX totp_pending_used_user ON totp_pending_used (user_id, expires_at);

-- The browser session that started a pending enrolment (`sessions.id`; NULL over the API): a
-- wrong first code on the site's set-up page shows the key again only to that session.
ALTER TABLE user_totp ADD COLUMN started_sid TEXT;
