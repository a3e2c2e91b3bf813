-- Kept in step with ../mysql/20261130000001_throttle_reservations.sql.
-- Throttles reserve an attempt before the expensive check (src/db/throttle.rs): a transaction
-- first writes the row of every key it is counted under (the account, the client address), so
-- requests for one key are counted one after the other, then counts the attempts in the window
-- and records its own only when it is under the limit.
CREATE TABLE throttle_keys (
    name       TEXT    NOT NULL PRIMARY KEY COLLATE NOCASE,
    updated_at TEXT    NOT NULL
);
CREATE INDEX throttle_keys_updated ON throttle_keys (updated_at);

-- Sign-ups per client address (register_per_hour).
CREATE TABLE register_attempts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    ip         TEXT    NOT NULL,
    created_at TEXT    NOT NULL
);
CREATE INDEX register_attempts_ip ON register_attempts (ip, created_at);
