-- 0009: review claims on applications.
--
-- A reviewer claims a submitted application before working it
-- (verification.Service.ClaimApplication): assigned_to is the admin's id (0
-- while unassigned), claimed_at when it was claimed (unix microseconds, 0
-- while unassigned). The review queue lists submitted applications oldest
-- first, filtered by assignee: the index on (status, id) serves that order.

ALTER TABLE {{prefix}}applications ADD COLUMN assigned_to INTEGER NOT NULL DEFAULT 0;
ALTER TABLE {{prefix}}applications ADD COLUMN claimed_at INTEGER NOT NULL DEFAULT 0;

CREATE INDEX {{prefix}}applications_queue ON {{prefix}}applications (status, id);

-- The queue of a tag-scoped admin (and the console's tag filter) keeps the
-- applications of subjects in the tag sets carrying a tag: this index finds
-- those subjects without an automatic index built at every query.
CREATE INDEX {{prefix}}subjects_tagset ON {{prefix}}subjects (tagset_id, id);
