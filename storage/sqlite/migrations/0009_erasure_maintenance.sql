-- 0008: tombstones, erasure of free text, upload expiry.
--
-- blob_deletions holds the tombstones of verification.BlobDeletionStore:
-- bytes that committed records no longer point to, deleted after the commit
-- and retried by the sweep until they are gone.
CREATE TABLE {{prefix}}blob_deletions (
    id         TEXT    PRIMARY KEY,
    subject_id INTEGER NOT NULL,
    blob_key   TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX {{prefix}}blob_deletions_created ON {{prefix}}blob_deletions (created_at, id);
CREATE INDEX {{prefix}}blob_deletions_subject ON {{prefix}}blob_deletions (subject_id, created_at, id);

-- Grants stay append-only, with one exception: erasure blanks a grant's
-- free-text reason (verification.SubjectStore.RedactSubject).
DROP TRIGGER {{prefix}}grants_no_update;

CREATE TRIGGER {{prefix}}grants_no_update BEFORE UPDATE ON {{prefix}}grants
WHEN NEW.reason <> ''
  OR NEW.id IS NOT OLD.id OR NEW.client_id IS NOT OLD.client_id OR NEW.client_seq IS NOT OLD.client_seq
  OR NEW.level_id IS NOT OLD.level_id OR NEW.level_name IS NOT OLD.level_name
  OR NEW.prev_level_id IS NOT OLD.prev_level_id OR NEW.prev_level_name IS NOT OLD.prev_level_name
  OR NEW.user_id IS NOT OLD.user_id OR NEW.create_time IS NOT OLD.create_time
BEGIN
    SELECT RAISE(ABORT, 'grants are append-only: UPDATE refused');
END;

-- The upload expiry lists unsubmitted files by upload time.
CREATE INDEX {{prefix}}files_status_created ON {{prefix}}files (status, created_at);

-- The delivered-outbox pruning walks the delivered deliveries by time.
CREATE INDEX {{prefix}}deliveries_delivered ON {{prefix}}deliveries (delivered_at)
    WHERE status = 'delivered';
