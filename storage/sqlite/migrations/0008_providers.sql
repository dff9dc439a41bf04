-- 0008: what identity providers reported (verification.ProviderStore).
--
-- provider_events has one row per received decision, unique by (provider,
-- event_key): the de-duplication of webhook redeliveries. subject_id is 0
-- for a decision about no known subject, so it carries no foreign key.
-- provider_sessions holds, per provider session, the decision applied last
-- (the one a new decision is compared with), the document facts and the
-- media fetch queue (media_status 'pending', media_next_at).

CREATE TABLE {{prefix}}provider_events (
    id          INTEGER PRIMARY KEY,
    provider    TEXT    NOT NULL,
    event_key   TEXT    NOT NULL,
    session_id  TEXT    NOT NULL,
    subject_id  INTEGER NOT NULL DEFAULT 0,
    outcome     TEXT    NOT NULL,
    final       INTEGER NOT NULL DEFAULT 0,
    occurred_at INTEGER NOT NULL DEFAULT 0,
    result      TEXT    NOT NULL,
    received_at INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE UNIQUE INDEX {{prefix}}provider_events_key ON {{prefix}}provider_events (provider, event_key);
CREATE INDEX {{prefix}}provider_events_session ON {{prefix}}provider_events (provider, session_id, id);
CREATE INDEX {{prefix}}provider_events_subject ON {{prefix}}provider_events (subject_id, id);

CREATE TABLE {{prefix}}provider_sessions (
    provider         TEXT    NOT NULL,
    session_id       TEXT    NOT NULL,
    subject_id       INTEGER NOT NULL REFERENCES {{prefix}}subjects (id),
    id_session_id    TEXT    NOT NULL DEFAULT '',
    url              TEXT    NOT NULL DEFAULT '',
    event_key        TEXT    NOT NULL DEFAULT '',
    outcome          TEXT    NOT NULL DEFAULT '',
    final            INTEGER NOT NULL DEFAULT 0,
    occurred_at      INTEGER NOT NULL DEFAULT 0,
    reason_codes     TEXT    NOT NULL DEFAULT '[]',
    reason           TEXT    NOT NULL DEFAULT '',
    document_type    TEXT    NOT NULL DEFAULT '',
    document_country TEXT    NOT NULL DEFAULT '',
    document_number  TEXT    NOT NULL DEFAULT '',
    document_valid_until INTEGER NOT NULL DEFAULT 0,
    media_status     TEXT    NOT NULL DEFAULT '',
    media_attempts   INTEGER NOT NULL DEFAULT 0,
    media_next_at    INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL DEFAULT 0,
    updated_at       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (provider, session_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX {{prefix}}provider_sessions_subject ON {{prefix}}provider_sessions (subject_id);
CREATE INDEX {{prefix}}provider_sessions_media ON {{prefix}}provider_sessions (media_next_at)
    WHERE media_status = 'pending';
