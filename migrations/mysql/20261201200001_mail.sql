-- Kept in step with ../sqlite/20261201200001_mail.sql.
-- Mail (issue 18). The outbox: a request inserts its mail here in the same transaction as the
-- change it reports; a background sender (src/mail) claims due rows with a lease
-- (`claimed_by`, `claimed_until`: an UPDATE that only one claimant can win), sends them, and
-- marks them sent, or failed after `mail_max_attempts`.
CREATE TABLE outbox (
    id              BIGINT        NOT NULL AUTO_INCREMENT PRIMARY KEY,
    recipient       VARCHAR(255)  NOT NULL,
    subject         VARCHAR(255)  NOT NULL,
    body_text       MEDIUMTEXT    NOT NULL,
    body_html       MEDIUMTEXT    NOT NULL,
    status          VARCHAR(16)   NOT NULL DEFAULT 'pending',
    attempts        INT           NOT NULL DEFAULT 0,
    next_attempt_at DATETIME(3)   NOT NULL,
    claimed_by      VARCHAR(64),
    claimed_until   DATETIME(3),
    last_error      VARCHAR(1000),
    created_at      DATETIME(3)   NOT NULL,
    sent_at         DATETIME(3),
    KEY outbox_due (status, next_attempt_at),
    CONSTRAINT outbox_status CHECK (status IN ('pending', 'sent', 'failed'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Single-use tokens mailed to an account: password resets and email confirmations. Only the
-- SHA-256 of the token is stored (hex); `email` is the address a confirmation is for.
CREATE TABLE account_tokens (
    token_hash CHAR(64)     NOT NULL PRIMARY KEY,
    user_id    BIGINT       NOT NULL,
    purpose    VARCHAR(16)  NOT NULL,
    email      VARCHAR(255) NOT NULL COLLATE utf8mb4_unicode_ci,
    created_at DATETIME(3)  NOT NULL,
    expires_at DATETIME(3)  NOT NULL,
    used_at    DATETIME(3),
    -- The account's token_version when it was made: a link works only while they are equal,
    -- so a password change or reset, "sign out everywhere" or disabling ends every link.
    user_version BIGINT     NOT NULL DEFAULT 0,
    KEY account_tokens_user (user_id, purpose),
    CONSTRAINT account_tokens_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT account_tokens_purpose CHECK (purpose IN ('reset', 'confirm'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Password reset requests, counted per email and per client address (src/db/throttle.rs).
CREATE TABLE reset_requests (
    id         BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    email      VARCHAR(255) NOT NULL COLLATE utf8mb4_unicode_ci,
    ip         VARCHAR(64)  NOT NULL,
    created_at DATETIME(3)  NOT NULL,
    KEY reset_requests_email (email, created_at),
    KEY reset_requests_ip (ip, created_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- When the account's email was confirmed (NULL: not yet). Accounts made before confirmation
-- existed count as confirmed, so `require_confirmed_email` does not lock them out.
ALTER TABLE users ADD COLUMN email_confirmed_at DATETIME(3) NULL;
UPDATE users SET email_confirmed_at = created_at;
