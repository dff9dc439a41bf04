-- 0009: the audit trail (verification.AuditStore).
--
-- One row per entry, seq 1..N without gaps. The counters row 'audit' is the
-- trail's head (the newest seq): LastAudit locks it (SELECT ... FOR UPDATE)
-- inside the appending transaction and AppendAudit bumps it in the insert's
-- statement, so appenders on any number of pools and processes run their
-- appends one after the other, each linking to the head the previous one
-- committed. The triggers refuse updates, deletes and truncation: the trail
-- is append-only, and the hash chain (VerifyAudit) shows any change made
-- around them.

INSERT INTO {{schema}}.counters (name, value) VALUES ('audit', 0);

CREATE TABLE {{schema}}.audit (
    seq        bigint PRIMARY KEY,
    at         timestamptz NOT NULL,
    actor_kind text COLLATE "C" NOT NULL,
    actor_id   text COLLATE "C" NOT NULL,
    action     text COLLATE "C" NOT NULL,
    subject_id bigint NOT NULL,
    entity     text COLLATE "C" NOT NULL,
    entity_id  text COLLATE "C" NOT NULL,
    summary    text NOT NULL,
    prev_hash  text COLLATE "C" NOT NULL,
    hash       text COLLATE "C" NOT NULL
);

CREATE INDEX audit_subject_idx ON {{schema}}.audit (subject_id, seq);

CREATE FUNCTION {{schema}}.audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit entries are append-only';
END
$$;

CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON {{schema}}.audit
    FOR EACH ROW EXECUTE FUNCTION {{schema}}.audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON {{schema}}.audit
    FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.audit_append_only();
