-- 0005: the subject's event counter (verification.Subject.EventSeq): the
-- SubjectSeq of its latest event, from which the Service numbers the next.
-- Events written before this migration carry no SubjectSeq; the counter
-- starts at the number of the subject's events, so numbering increases
-- from here on.

ALTER TABLE {{schema}}.subjects ADD COLUMN event_seq bigint NOT NULL DEFAULT 0;

UPDATE {{schema}}.subjects s
   SET event_seq = (SELECT count(*) FROM {{schema}}.events e WHERE e.subject_id = s.id);
