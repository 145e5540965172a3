-- The change log is kept for a while, not for ever. revisions records when
-- each revision was taken; pruning drops the changes of revisions older
-- than the retention and raises clock.pruned to the newest one dropped: a
-- replica whose revision is below it has missed changes that are gone, and
-- rebuilds instead of pulling.
ALTER TABLE clock ADD COLUMN pruned bigint NOT NULL DEFAULT 0;

CREATE TABLE revisions (
    rev bigint PRIMARY KEY,
    at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO revisions (rev) SELECT DISTINCT rev FROM changes;

CREATE OR REPLACE FUNCTION mykey_rev() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    r text := current_setting('mykey.rev', true);
BEGIN
    IF r IS NULL OR r = '' THEN
        UPDATE clock SET rev = rev + 1 RETURNING rev::text INTO r;
        INSERT INTO revisions (rev) VALUES (r::bigint);
        PERFORM set_config('mykey.rev', r, true);
    END IF;
    RETURN r::bigint;
END $$;
