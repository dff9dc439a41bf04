-- 0014: each requirement state carries its entry of the packed states.
--
-- The status, wizard and progress reads return a subject's states in one
-- text column (statements.go, packedStates; sqlite.parseStatuses): each
-- state as <byte length of its name>:<name><first letter of its status>,
-- upper case for a state marked final. Built by the read, that expression
-- cost more than the rest of the status route's statement (six string
-- functions per state on every read); as a stored generated column it is
-- computed once per write of the state, by SQLite, whatever statement
-- writes it, and the read only concatenates the entries.
--
-- SQLite cannot add a STORED column to a table, so the table is rebuilt
-- (the procedure of https://sqlite.org/lang_altertable.html#otheralter):
-- the same columns, primary key and index, plus status_entry.

CREATE TABLE {{prefix}}requirement_states_0014 (
    subject_id   INTEGER NOT NULL,
    name         TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    answer       BLOB,
    reason       TEXT    NOT NULL DEFAULT '',
    final        INTEGER NOT NULL DEFAULT 0,
    attempts     INTEGER NOT NULL DEFAULT 0,
    updated_at   INTEGER NOT NULL DEFAULT 0,
    valid_until  INTEGER NOT NULL DEFAULT 0,
    warned_at    INTEGER NOT NULL DEFAULT 0,
    status_entry TEXT GENERATED ALWAYS AS (length(CAST(name AS BLOB)) || ':' || name ||
        CASE WHEN final != 0 THEN upper(substr(status, 1, 1)) ELSE substr(status, 1, 1) END) STORED,
    PRIMARY KEY (subject_id, name)
) STRICT, WITHOUT ROWID;

INSERT INTO {{prefix}}requirement_states_0014
    (subject_id, name, status, answer, reason, final, attempts, updated_at, valid_until, warned_at)
    SELECT subject_id, name, status, answer, reason, final, attempts, updated_at, valid_until, warned_at
      FROM {{prefix}}requirement_states;

DROP TABLE {{prefix}}requirement_states;

ALTER TABLE {{prefix}}requirement_states_0014 RENAME TO {{prefix}}requirement_states;

CREATE INDEX {{prefix}}requirement_states_due
    ON {{prefix}}requirement_states (name, valid_until, subject_id, warned_at)
    WHERE valid_until > 0;
