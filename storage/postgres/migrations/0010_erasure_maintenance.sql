-- 0009: tombstones, erasure of free text, upload expiry.
--
-- blob_deletions holds the tombstones of verification.BlobDeletionStore:
-- bytes that committed records no longer point to, deleted after the commit
-- and retried by the sweep until they are gone.
CREATE TABLE {{schema}}.blob_deletions (
    id         text COLLATE "C" PRIMARY KEY,
    subject_id bigint NOT NULL,
    blob_key   text NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE INDEX blob_deletions_created_idx ON {{schema}}.blob_deletions (created_at, id);
CREATE INDEX blob_deletions_subject_idx ON {{schema}}.blob_deletions (subject_id, created_at, id);

-- Grants stay append-only, with one exception: erasure blanks a grant's
-- free-text reason (verification.SubjectStore.RedactSubject).
CREATE FUNCTION {{schema}}.refuse_grant_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.reason = '' AND (NEW.id, NEW.client_id, NEW.client_seq, NEW.level_id, NEW.level_name,
            NEW.prev_level_id, NEW.prev_level_name, NEW.user_id, NEW.created_at)
        IS NOT DISTINCT FROM (OLD.id, OLD.client_id, OLD.client_seq, OLD.level_id, OLD.level_name,
            OLD.prev_level_id, OLD.prev_level_name, OLD.user_id, OLD.created_at) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'openkyc: grants are append-only (% refused)', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;

DROP TRIGGER grants_append_only ON {{schema}}.grants;
CREATE TRIGGER grants_no_delete
    BEFORE DELETE ON {{schema}}.grants
    FOR EACH ROW EXECUTE FUNCTION {{schema}}.refuse_grant_change();
CREATE TRIGGER grants_no_update
    BEFORE UPDATE ON {{schema}}.grants
    FOR EACH ROW EXECUTE FUNCTION {{schema}}.refuse_grant_update();

-- The upload expiry lists unsubmitted files by upload time.
CREATE INDEX files_status_created_idx ON {{schema}}.files (status, created_at);

-- The delivered-outbox pruning walks the delivered deliveries by time.
CREATE INDEX deliveries_delivered_idx ON {{schema}}.deliveries (delivered_at)
    WHERE status = 'delivered';
