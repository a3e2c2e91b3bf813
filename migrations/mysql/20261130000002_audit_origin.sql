-- Where each admin write came from: the client address and the request id (the one in the
-- response's X-Request-Id and the log line). Older entries have neither.
ALTER TABLE audit_log
    ADD COLUMN ip VARCHAR(64) NULL,
    ADD COLUMN request_id VARCHAR(64) NULL;
