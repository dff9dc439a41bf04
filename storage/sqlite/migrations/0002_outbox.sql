-- 0002: outbox delivery state (verification.OutboxStore).
--
-- A sink is a named destination of events; once registered, every event
-- added afterwards gets a pending delivery for it, in the same transaction
-- (the trigger below). subject_id is copied from the event so that a claim
-- can find the oldest pending delivery of each (sink, subject) without a join.

CREATE TABLE {{prefix}}sinks (
    name TEXT NOT NULL PRIMARY KEY
) STRICT, WITHOUT ROWID;

CREATE TABLE {{prefix}}deliveries (
    seq             INTEGER NOT NULL REFERENCES {{prefix}}events (seq),
    sink            TEXT    NOT NULL,
    subject_id      INTEGER NOT NULL,
    status          TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    lease_until     INTEGER NOT NULL DEFAULT 0,
    delivered_at    INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (seq, sink)
) STRICT, WITHOUT ROWID;

-- Claims walk the pending deliveries in (seq, sink) order; the dead-letter
-- listing reads the dead ones.
CREATE INDEX {{prefix}}deliveries_status ON {{prefix}}deliveries (status, seq, sink);

-- "No pending delivery of the same sink and subject has a lower seq": one
-- seek per candidate.
CREATE INDEX {{prefix}}deliveries_pending ON {{prefix}}deliveries (sink, subject_id, seq)
    WHERE status = 'pending';

CREATE TRIGGER {{prefix}}events_deliveries AFTER INSERT ON {{prefix}}events
BEGIN
    INSERT INTO {{prefix}}deliveries (seq, sink, subject_id, status, next_attempt_at)
        SELECT NEW.seq, name, NEW.subject_id, 'pending', NEW.occurred_at FROM {{prefix}}sinks;
END;
