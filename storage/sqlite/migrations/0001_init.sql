-- 0001: the initial schema.
--
-- Every name carries the {{prefix}} placeholder, replaced by Options.TablePrefix
-- when the migration runs, so that several stores (or the host's own tables)
-- can share one database file. Times are INTEGER unix microseconds (UTC), 0
-- for the zero time.Time. Tables are STRICT so a wrongly typed value fails
-- loudly instead of being stored as something else.

-- A tag set is one distinct combination of tags carried by some subject:
-- key is the JSON array of its tags, sorted and without duplicates. Every
-- subject has exactly one tag set (or none), so counting grants per tag set
-- never counts a grant twice, whatever tags a listing asks for: a listing by
-- tags sums over the tag sets holding any of them.
CREATE TABLE {{prefix}}tagsets (
    id  INTEGER PRIMARY KEY,
    key TEXT    NOT NULL
) STRICT;

CREATE UNIQUE INDEX {{prefix}}tagsets_key ON {{prefix}}tagsets (key);

CREATE TABLE {{prefix}}tagset_tags (
    tag       TEXT    NOT NULL,
    tagset_id INTEGER NOT NULL,
    PRIMARY KEY (tag, tagset_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE {{prefix}}subjects (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    identifier  TEXT    NOT NULL,
    -- tags as the caller gave them (a JSON array, NULL for none), so they
    -- round-trip exactly; tagset_id is their canonical, searchable form
    -- (NULL for none).
    tags        TEXT,
    tagset_id   INTEGER REFERENCES {{prefix}}tagsets (id),
    level       INTEGER NOT NULL DEFAULT 0,
    deleted_at  INTEGER NOT NULL DEFAULT 0,
    legal_hold  INTEGER NOT NULL DEFAULT 0,
    redacted_at INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL DEFAULT 0,
    updated_at  INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE UNIQUE INDEX {{prefix}}subjects_identifier ON {{prefix}}subjects (identifier);

CREATE TABLE {{prefix}}requirement_states (
    subject_id INTEGER NOT NULL,
    name       TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    answer     BLOB,
    reason     TEXT    NOT NULL DEFAULT '',
    final      INTEGER NOT NULL DEFAULT 0,
    attempts   INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (subject_id, name)
) STRICT, WITHOUT ROWID;

CREATE TABLE {{prefix}}reviews (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    subject_id  INTEGER NOT NULL,
    requirement TEXT    NOT NULL,
    decision    TEXT    NOT NULL,
    reason      TEXT    NOT NULL DEFAULT '',
    final       INTEGER NOT NULL DEFAULT 0,
    admin_id    INTEGER NOT NULL DEFAULT 0,
    create_time INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX {{prefix}}reviews_subject ON {{prefix}}reviews (subject_id, id);

-- Grants are append-only (the triggers below refuse UPDATE and DELETE).
-- id is dense, 1..N in insertion order, and client_seq is dense per client,
-- 1..n: both are assigned by the store as MAX + 1 inside the single writer's
-- transaction, so an offset in the global or per-client order is a key seek
-- (id > offset) and a total is MAX, never a scan.
CREATE TABLE {{prefix}}grants (
    id              INTEGER PRIMARY KEY,
    client_id       INTEGER NOT NULL REFERENCES {{prefix}}subjects (id),
    client_seq      INTEGER NOT NULL,
    level_id        INTEGER NOT NULL,
    level_name      TEXT    NOT NULL,
    prev_level_id   INTEGER,
    prev_level_name TEXT,
    reason          TEXT    NOT NULL,
    user_id         INTEGER NOT NULL DEFAULT 0,
    create_time     INTEGER NOT NULL
) STRICT;

CREATE UNIQUE INDEX {{prefix}}grants_client ON {{prefix}}grants (client_id, client_seq);

-- An insert must take the next id and the next client_seq: this keeps both
-- sequences dense, and refuses INSERT OR REPLACE over an existing grant
-- (REPLACE deletes without firing the DELETE trigger below).
CREATE TRIGGER {{prefix}}grants_next BEFORE INSERT ON {{prefix}}grants
WHEN NEW.id IS NOT (SELECT COALESCE(MAX(id), 0) + 1 FROM {{prefix}}grants)
  OR NEW.client_seq IS NOT (SELECT COALESCE(MAX(client_seq), 0) + 1 FROM {{prefix}}grants WHERE client_id = NEW.client_id)
BEGIN
    SELECT RAISE(ABORT, 'grants are append-only: id and client_seq must be the next of their sequences');
END;

CREATE TRIGGER {{prefix}}grants_no_update BEFORE UPDATE ON {{prefix}}grants
BEGIN
    SELECT RAISE(ABORT, 'grants are append-only: UPDATE refused');
END;

CREATE TRIGGER {{prefix}}grants_no_delete BEFORE DELETE ON {{prefix}}grants
BEGIN
    SELECT RAISE(ABORT, 'grants are append-only: DELETE refused');
END;

-- Tag-scoped listings. grant_tagsets holds (tag set, grant) for every grant
-- whose subject currently has a tag set; tagset_blocks counts those rows per
-- tag set and block of 1024 grant IDs (block = id >> 10), tagset_supers per
-- superblock of 65536 (super = id >> 16). The triggers below keep them
-- current when a grant is added and when a subject's tag set changes (which
-- moves only that subject's grants). A listing finds its page by walking the
-- superblock counts (N / 65536 rows per tag set), the block counts of one
-- superblock (at most 64) and at most 1023 index entries, so its cost does
-- not grow with the offset.
CREATE TABLE {{prefix}}grant_tagsets (
    tagset_id INTEGER NOT NULL,
    grant_id  INTEGER NOT NULL,
    PRIMARY KEY (tagset_id, grant_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE {{prefix}}tagset_blocks (
    tagset_id INTEGER NOT NULL,
    block     INTEGER NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (tagset_id, block)
) STRICT, WITHOUT ROWID;

CREATE TABLE {{prefix}}tagset_supers (
    tagset_id INTEGER NOT NULL,
    super     INTEGER NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (tagset_id, super)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER {{prefix}}grants_tagset AFTER INSERT ON {{prefix}}grants
WHEN (SELECT tagset_id FROM {{prefix}}subjects WHERE id = NEW.client_id) IS NOT NULL
BEGIN
    INSERT INTO {{prefix}}grant_tagsets (tagset_id, grant_id)
        SELECT tagset_id, NEW.id FROM {{prefix}}subjects WHERE id = NEW.client_id;
    INSERT INTO {{prefix}}tagset_blocks (tagset_id, block, n)
        SELECT tagset_id, NEW.id >> 10, 1 FROM {{prefix}}subjects WHERE id = NEW.client_id
        ON CONFLICT (tagset_id, block) DO UPDATE SET n = n + 1;
    INSERT INTO {{prefix}}tagset_supers (tagset_id, super, n)
        SELECT tagset_id, NEW.id >> 16, 1 FROM {{prefix}}subjects WHERE id = NEW.client_id
        ON CONFLICT (tagset_id, super) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER {{prefix}}subjects_retag AFTER UPDATE OF tagset_id ON {{prefix}}subjects
WHEN OLD.tagset_id IS NOT NEW.tagset_id
BEGIN
    DELETE FROM {{prefix}}grant_tagsets
        WHERE tagset_id = OLD.tagset_id
          AND grant_id IN (SELECT id FROM {{prefix}}grants WHERE client_id = NEW.id);
    UPDATE {{prefix}}tagset_blocks
        SET n = n - (SELECT COUNT(*) FROM {{prefix}}grants
                     WHERE client_id = NEW.id AND id >> 10 = {{prefix}}tagset_blocks.block)
        WHERE tagset_id = OLD.tagset_id
          AND block IN (SELECT id >> 10 FROM {{prefix}}grants WHERE client_id = NEW.id);
    UPDATE {{prefix}}tagset_supers
        SET n = n - (SELECT COUNT(*) FROM {{prefix}}grants
                     WHERE client_id = NEW.id AND id >> 16 = {{prefix}}tagset_supers.super)
        WHERE tagset_id = OLD.tagset_id
          AND super IN (SELECT id >> 16 FROM {{prefix}}grants WHERE client_id = NEW.id);
    DELETE FROM {{prefix}}tagset_blocks WHERE tagset_id = OLD.tagset_id AND n <= 0;
    DELETE FROM {{prefix}}tagset_supers WHERE tagset_id = OLD.tagset_id AND n <= 0;

    INSERT INTO {{prefix}}grant_tagsets (tagset_id, grant_id)
        SELECT NEW.tagset_id, id FROM {{prefix}}grants
        WHERE client_id = NEW.id AND NEW.tagset_id IS NOT NULL;
    INSERT INTO {{prefix}}tagset_blocks (tagset_id, block, n)
        SELECT NEW.tagset_id, id >> 10, COUNT(*) FROM {{prefix}}grants
        WHERE client_id = NEW.id AND NEW.tagset_id IS NOT NULL
        GROUP BY id >> 10
        ON CONFLICT (tagset_id, block) DO UPDATE SET n = n + excluded.n;
    INSERT INTO {{prefix}}tagset_supers (tagset_id, super, n)
        SELECT NEW.tagset_id, id >> 16, COUNT(*) FROM {{prefix}}grants
        WHERE client_id = NEW.id AND NEW.tagset_id IS NOT NULL
        GROUP BY id >> 16
        ON CONFLICT (tagset_id, super) DO UPDATE SET n = n + excluded.n;
END;

CREATE TABLE {{prefix}}applications (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid         TEXT    NOT NULL,
    subject_id   INTEGER NOT NULL REFERENCES {{prefix}}subjects (id),
    level        INTEGER NOT NULL,
    status       TEXT    NOT NULL,
    -- the wizard steps as JSON (times as unix microseconds), NULL for none
    steps        TEXT,
    reason       TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL DEFAULT 0,
    expires_at   INTEGER NOT NULL DEFAULT 0,
    submitted_at INTEGER NOT NULL DEFAULT 0,
    decided_at   INTEGER NOT NULL DEFAULT 0,
    decided_by   INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE UNIQUE INDEX {{prefix}}applications_uuid ON {{prefix}}applications (uuid);
CREATE INDEX {{prefix}}applications_subject ON {{prefix}}applications (subject_id, id);
CREATE INDEX {{prefix}}applications_status ON {{prefix}}applications (status, expires_at);

CREATE TABLE {{prefix}}files (
    id            TEXT    NOT NULL PRIMARY KEY,
    subject_id    INTEGER NOT NULL REFERENCES {{prefix}}subjects (id),
    blob_key      TEXT    NOT NULL DEFAULT '',
    content_type  TEXT    NOT NULL DEFAULT '',
    size          INTEGER NOT NULL DEFAULT 0,
    sha256        TEXT    NOT NULL DEFAULT '',
    document_type TEXT    NOT NULL DEFAULT '',
    side          TEXT    NOT NULL DEFAULT '',
    status        TEXT    NOT NULL DEFAULT '',
    reason        TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL DEFAULT 0,
    decided_at    INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX {{prefix}}files_subject ON {{prefix}}files (subject_id, created_at, id);
CREATE INDEX {{prefix}}files_status ON {{prefix}}files (status, decided_at);

-- pos keeps insertion order (ListIDSessions breaks CreatedAt ties with it).
CREATE TABLE {{prefix}}id_sessions (
    pos           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT    NOT NULL,
    subject_id    INTEGER NOT NULL REFERENCES {{prefix}}subjects (id),
    provider      TEXT    NOT NULL DEFAULT '',
    status        TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL DEFAULT 0,
    front_file_id TEXT    NOT NULL DEFAULT '',
    back_file_id  TEXT    NOT NULL DEFAULT '',
    face_file_id  TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE UNIQUE INDEX {{prefix}}id_sessions_id ON {{prefix}}id_sessions (id);
CREATE INDEX {{prefix}}id_sessions_subject ON {{prefix}}id_sessions (subject_id, created_at, pos);

-- The transactional outbox. seq is the rowid, MAX + 1 on insert: with one
-- writer, increasing in commit order. A plain rowid instead of AUTOINCREMENT
-- saves a write of sqlite_sequence per transaction; the trigger keeps the
-- newest event from being deleted, so a seq is never handed out twice even
-- once delivered events are pruned.
--
-- There is deliberately no index on subject_id: the outbox is read in seq
-- order (AfterSeq), and every index is one more page written by every
-- transition (an index on (subject_id, seq) cost about 8% of a submission).
-- ListEvents with a SubjectID walks the events after AfterSeq.
CREATE TABLE {{prefix}}events (
    seq         INTEGER PRIMARY KEY,
    id          TEXT    NOT NULL,
    subject_id  INTEGER NOT NULL,
    type        TEXT    NOT NULL,
    data        BLOB,
    occurred_at INTEGER NOT NULL
) STRICT;

CREATE UNIQUE INDEX {{prefix}}events_id ON {{prefix}}events (id);

CREATE TRIGGER {{prefix}}events_keep_newest BEFORE DELETE ON {{prefix}}events
WHEN OLD.seq = (SELECT MAX(seq) FROM {{prefix}}events)
BEGIN
    SELECT RAISE(ABORT, 'the newest event keeps the outbox sequence: it cannot be deleted');
END;
