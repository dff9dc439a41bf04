-- 0010: review claims on applications.
--
-- A reviewer claims a submitted application before working it
-- (verification.Service.ClaimApplication): assigned_to is the admin's id (0
-- while unassigned), claimed_at when it was claimed (NULL while
-- unassigned). The review queue lists submitted applications oldest first,
-- filtered by assignee: the index on (status, id) serves that order.

ALTER TABLE {{schema}}.applications ADD COLUMN assigned_to bigint NOT NULL DEFAULT 0;
ALTER TABLE {{schema}}.applications ADD COLUMN claimed_at timestamptz;

CREATE INDEX applications_queue_idx ON {{schema}}.applications (status, id);
