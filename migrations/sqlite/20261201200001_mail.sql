-- Kept in step with ../mysql/20261201200001_mail.sql.
-- Mail (issue 18). The outbox: a request inserts its mail here in the same transaction as the
-- change it reports; a background sender (src/mail) claims due rows with a lease
-- (`claimed_by`, `claimed_until`: an UPDATE that only one claimant can win), sends them, and
-- marks them sent, or failed after `mail_max_attempts`.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient       TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    body_text       TEXT    NOT NULL,
    body_html       TEXT    NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NOT NULL,
    claimed_by      TEXT,
    claimed_until   TEXT,
    last_error      TEXT,
    created_at      TEXT    NOT NULL,
    sent_at         TEXT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

-- Single-use tokens mailed to an account: password resets and email confirmations. Only the
-- SHA-256 of the token is stored (hex); `email` is the address a confirmation is for.
CREATE TABLE account_tokens (
    token_hash TEXT    NOT NULL PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT    NOT NULL CHECK (purpose IN ('reset', 'confirm')),
    email      TEXT    NOT NULL COLLATE NOCASE,
    created_at TEXT    NOT NULL,
    expires_at TEXT    NOT NULL,
    used_at    TEXT,
    -- The account's token_version when it was made: a link works only while they are equal,
    -- so a password change or reset, "sign out everywhere" or disabling ends every link.
    user_version INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose);

-- Password reset requests, counted per email and per client address (src/db/throttle.rs).
CREATE TABLE reset_requests (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    email      TEXT    NOT NULL COLLATE NOCASE,
    ip         TEXT    NOT NULL,
    created_at TEXT    NOT NULL
);
CREATE INDEX reset_requests_email ON reset_requests (email, created_at);
CREATE INDEX reset_requests_ip ON reset_requests (ip, created_at);

-- When the account's email was confirmed (NULL: not yet). Accounts made before confirmation
-- existed count as confirmed, so `require_confirmed_email` does not lock them out.
ALTER TABLE users ADD COLUMN email_confirmed_at TEXT;
UPDATE users SET email_confirmed_at = created_at;
