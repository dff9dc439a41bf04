-- 0008: the audit trail (verification.AuditStore).
--
-- One row per entry, seq 1..N without gaps (AppendAudit inserts only the
-- next seq). at is unix microseconds; summary the canonical JSON object of
-- the entry's summary. The triggers refuse updates and deletes: the trail
-- is append-only, and the hash chain (VerifyAudit) shows any change made
-- around them.

CREATE TABLE {{prefix}}audit (
    seq        INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id   TEXT NOT NULL,
    action     TEXT NOT NULL,
    subject_id INTEGER NOT NULL,
    entity     TEXT NOT NULL,
    entity_id  TEXT NOT NULL,
    summary    TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);

CREATE INDEX {{prefix}}audit_subject ON {{prefix}}audit (subject_id, seq);

CREATE TRIGGER {{prefix}}audit_no_update BEFORE UPDATE ON {{prefix}}audit
BEGIN
    SELECT RAISE(ABORT, 'audit entries are append-only');
END;

CREATE TRIGGER {{prefix}}audit_no_delete BEFORE DELETE ON {{prefix}}audit
BEGIN
    SELECT RAISE(ABORT, 'audit entries are append-only');
END;
