-- 0004: fenced delivery leases.
--
-- fence counts the claims of a delivery: ClaimDeliveries adds one, and
-- UpdateDelivery writes only while the fence it is given is the stored one,
-- so a dispatcher whose lease was taken over cannot overwrite the outcome
-- of the one that took it over.

ALTER TABLE {{prefix}}deliveries ADD COLUMN fence INTEGER NOT NULL DEFAULT 0;
