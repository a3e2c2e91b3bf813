-- Kept in step with ../sqlite/20261203100001_two_factor_daily_cap.sql.
-- A daily cap on wrong two-factor codes (review L6 of issue 18). Each code check is recorded
-- here before it runs (src/db/throttle.rs, under the `totp-day:<user id>` key); a check that
-- passes takes its row back, so the rows are the account's wrong codes. Past
-- `totp_max_failures_per_day` in 24 hours further code checks answer 429 until the window
-- passes or a password reset clears them. `failures_noticed_at` is when the owner was last
-- mailed that wrong codes are being tried (at most once a day, one conditional UPDATE).
CREATE TABLE totp_failures (
    id         BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id    BIGINT      NOT NULL,
    created_at DATETIME(3) NOT NULL,
    KEY totp_failures_user (user_id, created_at),
    KEY totp_failures_created (created_at),
    CONSTRAINT totp_failures_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

ALTER TABLE user_totp ADD COLUMN failures_noticed_at DATETIME(3) NULL;

-- Housekeeping deletes completed half-done sign-ins past their expiry.
CREATE INDEX totp_pending_used_expires ON totp_pending_used (expires_at);
