-- Kept in step with ../mysql/20261206100001_recovery_code_failures.sql.
-- Wrong recovery codes are recorded in `totp_failures` too, marked `recovery = 1`, so that they
-- count toward the owner's notice (`totp_failure_notice_after`). The daily cap counts only the
-- rows with `recovery = 0`: recovery codes bypass it on purpose (src/auth/code_check.rs).
ALTER TABLE totp_failures ADD COLUMN recovery BOOLEAN NOT NULL DEFAULT 0;
