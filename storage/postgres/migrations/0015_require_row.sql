-- 0015: a statement that fails when a write found no row.
--
-- The Service's last writes of a transaction go out with COMMIT in one
-- round trip (Store.WriteAtCommit): the subject's update cannot be checked
-- from Go before COMMIT runs, so the statement checks itself and fails,
-- aborting the transaction, when the subject is absent.
CREATE FUNCTION {{schema}}.require_row(n bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
    IF n = 0 THEN
        RAISE EXCEPTION 'no row' USING ERRCODE = 'no_data_found';
    END IF;
    RETURN n;
END
$$;
