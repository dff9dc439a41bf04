-- 0003: idempotency keys (verification.IdempotencyStore).
--
-- One remembered POST per (scope, key): status 0 while the first request is
-- in progress, then its response (status, content type, body). Times are
-- unix microseconds with 0 for the zero time, which counts as the earliest.
-- A rowid table (bodies may be large), so that DeleteExpiredIdempotency can
-- delete a limited batch by rowid.

CREATE TABLE {{prefix}}idempotency (
    scope        TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    request_hash TEXT    NOT NULL,
    status       INTEGER NOT NULL DEFAULT 0,
    content_type TEXT    NOT NULL DEFAULT '',
    body         BLOB,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
) STRICT;

-- DeleteExpiredIdempotency walks the records in expiry order.
CREATE INDEX {{prefix}}idempotency_expires ON {{prefix}}idempotency (expires_at);
