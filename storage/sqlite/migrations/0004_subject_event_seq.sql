-- 0004: the subject's event counter (verification.Subject.EventSeq): the
-- SubjectSeq of its latest event, from which the Service numbers the next.
-- Events written before this migration carry no SubjectSeq; the counter
-- starts at the number of the subject's events still stored, so numbering
-- increases from here on.

ALTER TABLE {{prefix}}subjects ADD COLUMN event_seq INTEGER NOT NULL DEFAULT 0;

UPDATE {{prefix}}subjects
   SET event_seq = (SELECT count(*) FROM {{prefix}}events e WHERE e.subject_id = {{prefix}}subjects.id);
