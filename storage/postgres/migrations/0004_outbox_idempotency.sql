-- 0004: idempotency records (Idempotency-Key replays) and per-sink delivery
-- state for the event outbox (verification.OutboxStore).

-- idempotency: one remembered POST per (scope, key). status 0 means the
-- first request is still in progress. A zero time is stored as NULL and
-- counts as the earliest time: a record without expires_at is expired.
CREATE TABLE {{schema}}.idempotency (
    scope        text COLLATE "C" NOT NULL,
    key          text COLLATE "C" NOT NULL,
    request_hash text NOT NULL DEFAULT '',
    status       integer NOT NULL DEFAULT 0,
    content_type text NOT NULL DEFAULT '',
    body         bytea,
    created_at   timestamptz,
    expires_at   timestamptz,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_expires_idx ON {{schema}}.idempotency (expires_at);

-- sinks: the registered destinations. AddEvent inserts a pending delivery
-- for each of them in the event's own statement. (deliveries.sink has no
-- foreign key on purpose: its check would take a KEY SHARE lock on the
-- sink's row in every transaction that adds an event.)
CREATE TABLE {{schema}}.sinks (
    name text COLLATE "C" PRIMARY KEY
);

-- deliveries: the state of one event for one sink. subject_id is the
-- event's, copied so that the claim's "oldest pending delivery of this
-- (sink, subject)" test is one probe of deliveries_pending_head_idx.
CREATE TABLE {{schema}}.deliveries (
    event_seq       bigint NOT NULL REFERENCES {{schema}}.events (seq),
    sink            text COLLATE "C" NOT NULL,
    subject_id      bigint NOT NULL,
    status          text NOT NULL DEFAULT 'pending',
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    lease_until     timestamptz,
    delivered_at    timestamptz,
    last_error      text NOT NULL DEFAULT '',
    PRIMARY KEY (event_seq, sink)
);
--
-- The partial indexes cover the pending deliveries only, so that a claim
-- never walks the delivered history: deliveries_pending_seq_idx yields them
-- in claim order (Seq, sink), deliveries_pending_due_idx by due time (when
-- most of them wait for a retry), and deliveries_pending_head_idx answers
-- "is there an older pending delivery of this (sink, subject)?".
CREATE INDEX deliveries_pending_seq_idx ON {{schema}}.deliveries (event_seq, sink)
    WHERE status = 'pending';
CREATE INDEX deliveries_pending_due_idx ON {{schema}}.deliveries (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX deliveries_pending_head_idx ON {{schema}}.deliveries (sink, subject_id, event_seq)
    WHERE status = 'pending';
-- Dead letters are few and listed by admins in Seq order.
CREATE INDEX deliveries_dead_idx ON {{schema}}.deliveries (event_seq, sink)
    WHERE status = 'dead';
