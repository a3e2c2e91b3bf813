-- Where each admin write came from: the client address and the request id (the one in the
-- response's X-Request-Id and the log line). Older entries have neither.
ALTER TABLE audit_log ADD COLUMN ip TEXT;
ALTER TABLE audit_log ADD COLUMN request_id TEXT;
