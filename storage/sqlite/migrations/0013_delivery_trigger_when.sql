-- 0013: the delivery trigger runs only while a sink is registered.
--
-- The trigger of 0002 ran its INSERT ... SELECT FROM sinks for every new
-- event, opening write cursors on the deliveries table and its indexes even
-- when there is no sink to deliver to. With the WHEN clause an event
-- written while no sink is registered costs one look at the sinks table.
-- The deliveries it creates are the same.

DROP TRIGGER {{prefix}}events_deliveries;

CREATE TRIGGER {{prefix}}events_deliveries AFTER INSERT ON {{prefix}}events
WHEN EXISTS (SELECT 1 FROM {{prefix}}sinks)
BEGIN
    INSERT INTO {{prefix}}deliveries (seq, sink, subject_id, status, next_attempt_at)
        SELECT NEW.seq, name, NEW.subject_id, 'pending', NEW.occurred_at FROM {{prefix}}sinks;
END;
