-- 0011: requirement validity.
--
-- valid_until is when an approval stops counting (a screening's next screen
-- for screening requirements), NULL for never; warned_at is when
-- requirement.expiring was emitted for it. The expiry sweep and the
-- re-screening (verification.Service.ExpireRequirements, RunScreening) page
-- through the due states of one requirement in (valid_until, subject_id)
-- order from a partial index holding only the states that can come due;
-- warned_at is included so that the warning pass filters in the index.

ALTER TABLE {{schema}}.requirement_states ADD COLUMN valid_until timestamptz;
ALTER TABLE {{schema}}.requirement_states ADD COLUMN warned_at timestamptz;

CREATE INDEX requirement_states_due_idx
    ON {{schema}}.requirement_states (name, valid_until, subject_id) INCLUDE (warned_at)
    WHERE valid_until IS NOT NULL;
