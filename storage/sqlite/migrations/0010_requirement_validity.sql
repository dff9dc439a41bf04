-- 0010: requirement validity.
--
-- valid_until is when an approval stops counting (a screening's next screen
-- for screening requirements), 0 for never; warned_at is when
-- requirement.expiring was emitted for it. The expiry sweep and the
-- re-screening (verification.Service.ExpireRequirements, RunScreening) page
-- through the due states of one requirement in (valid_until, subject_id)
-- order from a partial index holding only the states that can come due;
-- warned_at rides in the index so that the warning pass filters without
-- reading the table.

ALTER TABLE {{prefix}}requirement_states ADD COLUMN valid_until INTEGER NOT NULL DEFAULT 0;
ALTER TABLE {{prefix}}requirement_states ADD COLUMN warned_at INTEGER NOT NULL DEFAULT 0;

CREATE INDEX {{prefix}}requirement_states_due
    ON {{prefix}}requirement_states (name, valid_until, subject_id, warned_at)
    WHERE valid_until > 0;
