-- 0005: fenced delivery leases.
--
-- fence counts the claims of a delivery: ClaimDeliveries adds one, and
-- UpdateDelivery writes only while the fence it is given is the stored one,
-- so a dispatcher whose lease was taken over (a paused process, a clock
-- running behind) cannot overwrite the outcome of the one that took it over.
-- A constant default: no table rewrite.

ALTER TABLE {{schema}}.deliveries ADD COLUMN fence bigint NOT NULL DEFAULT 0;
