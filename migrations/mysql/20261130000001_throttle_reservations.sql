-- Kept in step with ../sqlite/20261130000001_throttle_reservations.sql.
-- Throttles reserve an attempt before the expensive check (src/db/throttle.rs): a transaction
-- first writes the row of every key it is counted under (the account, the client address), so
-- requests for one key are counted one after the other, then counts the attempts in the window
-- and records its own only when it is under the limit. `name` compares like
-- `login_attempts.email`, so two spellings the count treats as one account share one row.
CREATE TABLE throttle_keys (
    name       VARCHAR(320) NOT NULL COLLATE utf8mb4_unicode_ci PRIMARY KEY,
    updated_at DATETIME(3)  NOT NULL,
    KEY throttle_keys_updated (updated_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Sign-ups per client address (register_per_hour).
CREATE TABLE register_attempts (
    id         BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    ip         VARCHAR(64) NOT NULL,
    created_at DATETIME(3) NOT NULL,
    KEY register_attempts_ip (ip, created_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
