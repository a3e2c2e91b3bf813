-- Active sessions (issue 18): a session is a browser's sign-in or an API login (its JWT carries
-- the session's id), listed on /settings/sessions and by GET /api/user/sessions. Kept in step
-- with ../sqlite/20261202000001_session_kinds.sql.
--
-- `last_seen_at` is written at most once a minute per session (src/auth/credentials.rs), with
-- the client address the throttles use and the browser family read from the User-Agent (never
-- the whole header). Sessions made before this migration are browser sessions, never seen.
ALTER TABLE sessions ADD COLUMN kind VARCHAR(16) NOT NULL DEFAULT 'browser',
    ADD COLUMN last_seen_at DATETIME(3) NULL,
    ADD COLUMN address VARCHAR(64) NULL,
    ADD COLUMN browser VARCHAR(100) NULL,
    ADD CONSTRAINT sessions_kind CHECK (kind IN ('browser', 'api'));
