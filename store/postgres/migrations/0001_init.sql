-- The MyKey registry on PostgreSQL, version 1: the same tables and rules as
-- the SQLite registry (store/sqlite/migrations), plus what several desks
-- sharing it need: a change log the desk replicas follow.

-- ord keeps the order of registration (List), as SQLite's rowid does.
CREATE TABLE mykey_ids (
    id         text PRIMARY KEY CHECK (length(id) = 8),
    ord        bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    created_at timestamptz NOT NULL
);

-- A certificate is known only by its keyed pseudonym, never by its issuance
-- number.
CREATE TABLE certificates (
    pseudonym     bytea PRIMARY KEY CHECK (length(pseudonym) = 32),
    mykey_id      text NOT NULL REFERENCES mykey_ids (id),
    not_after     timestamptz NOT NULL,
    status        text NOT NULL CHECK (status IN ('active', 'superseded', 'revoked')),
    registered_at timestamptz NOT NULL
);
CREATE INDEX certificates_mykey_id ON certificates (mykey_id);

-- One patron number per MyKey ID and one MyKey ID per patron number, per
-- service.
CREATE TABLE links (
    service   text NOT NULL,
    mykey_id  text NOT NULL REFERENCES mykey_ids (id),
    patron    text NOT NULL,
    linked_at timestamptz NOT NULL,
    PRIMARY KEY (mykey_id, service),
    UNIQUE (patron, service)
);

CREATE TABLE rosters (
    service   text PRIMARY KEY,
    loaded_at timestamptz NOT NULL,
    patrons   integer NOT NULL
);

CREATE TABLE roster_patrons (
    service text NOT NULL,
    patron  text NOT NULL,
    active  boolean NOT NULL,
    expires date, -- NULL: no expiry
    PRIMARY KEY (service, patron)
);

CREATE TABLE meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);

-- What the genuine-card check keeps per MyKey ID, sealed (see the SQLite
-- migration 0006).
CREATE TABLE genuine (
    mykey_id    text PRIMARY KEY REFERENCES mykey_ids (id),
    mode        text NOT NULL CHECK (mode IN ('dob', 'card-key')),
    dob         bytea,
    card_key    bytea,
    key_fp      bytea NOT NULL,
    captured_at timestamptz NOT NULL,
    CHECK ((mode = 'dob' AND dob IS NOT NULL AND card_key IS NULL) OR (mode = 'card-key' AND card_key IS NOT NULL AND dob IS NULL))
);

-- Append-only, hash-chained (store.ChainHash): no patron numbers, no
-- issuance numbers. Writers append under one advisory lock, so seq has no
-- gaps and the chain no forks. idem is the idempotency key of an entry a
-- desk queued while the registry was out of reach: delivered twice, it is
-- kept once.
CREATE TABLE audit (
    seq      bigint PRIMARY KEY,
    at       timestamptz NOT NULL,
    os_user  text NOT NULL,
    action   text NOT NULL,
    mykey_id text NOT NULL,
    outcome  text NOT NULL,
    detail   text NOT NULL,
    hash     bytea NOT NULL,
    idem     text UNIQUE
);
CREATE INDEX audit_at ON audit (at, seq);
CREATE INDEX audit_action ON audit (action, at, seq);
CREATE INDEX audit_mykey ON audit (mykey_id, at, seq);

CREATE FUNCTION mykey_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END $$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION mykey_audit_append_only();

-- The change log the desk replicas follow. Every transaction that changes
-- what a tap reads takes the next revision from clock, whose row lock it
-- then holds until it commits or rolls back: revisions commit in order and
-- none is skipped, so a replica that has read every change up to revision N
-- can never later see a change numbered N or lower commit (the watermark is
-- gap-free, unlike a sequence, whose values commit out of order).
CREATE TABLE clock (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    rev bigint NOT NULL
);
INSERT INTO clock (rev) VALUES (0);

CREATE TABLE changes (
    rev     bigint NOT NULL,
    tbl     text NOT NULL,
    service text NOT NULL DEFAULT '',
    key     text NOT NULL
);
CREATE INDEX changes_rev ON changes (rev);

-- mykey_rev returns this transaction's revision, taking the next one on
-- first use.
CREATE FUNCTION mykey_rev() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    r text := current_setting('mykey.rev', true);
BEGIN
    IF r IS NULL OR r = '' THEN
        UPDATE clock SET rev = rev + 1 RETURNING rev::text INTO r;
        PERFORM set_config('mykey.rev', r, true);
    END IF;
    RETURN r::bigint;
END $$;

-- One statement-level trigger per table and event records the keys a
-- statement touched (a million-row import adds one INSERT ... SELECT, not a
-- million trigger calls).
CREATE FUNCTION mykey_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r bigint := mykey_rev();
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        CASE TG_TABLE_NAME
        WHEN 'mykey_ids' THEN INSERT INTO changes (rev, tbl, key) SELECT r, TG_TABLE_NAME, id FROM old_rows;
        WHEN 'certificates' THEN INSERT INTO changes (rev, tbl, key) SELECT r, TG_TABLE_NAME, encode(pseudonym, 'hex') FROM old_rows;
        WHEN 'links' THEN INSERT INTO changes (rev, tbl, service, key) SELECT r, TG_TABLE_NAME, service, mykey_id FROM old_rows;
        WHEN 'genuine' THEN INSERT INTO changes (rev, tbl, key) SELECT r, TG_TABLE_NAME, mykey_id FROM old_rows;
        WHEN 'meta' THEN INSERT INTO changes (rev, tbl, key) SELECT r, TG_TABLE_NAME, key FROM old_rows;
        END CASE;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        CASE TG_TABLE_NAME
        WHEN 'mykey_ids' THEN INSERT INTO changes (rev, tbl, key) SELECT r, TG_TABLE_NAME, id FROM new_rows;
        WHEN 'certificates' THEN INSERT INTO changes (rev, tbl, key) SELECT r, TG_TABLE_NAME, encode(pseudonym, 'hex') FROM new_rows;
        WHEN 'links' THEN INSERT INTO changes (rev, tbl, service, key) SELECT r, TG_TABLE_NAME, service, mykey_id FROM new_rows;
        WHEN 'genuine' THEN INSERT INTO changes (rev, tbl, key) SELECT r, TG_TABLE_NAME, mykey_id FROM new_rows;
        WHEN 'meta' THEN INSERT INTO changes (rev, tbl, key) SELECT r, TG_TABLE_NAME, key FROM new_rows;
        END CASE;
    END IF;
    PERFORM pg_notify('mykey_changes', r::text);
    RETURN NULL;
END $$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['mykey_ids', 'certificates', 'links', 'genuine', 'meta'] LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION mykey_changed()', t || '_ins', t);
        EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %I REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION mykey_changed()', t || '_upd', t);
        EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION mykey_changed()', t || '_del', t);
    END LOOP;
END $$;
