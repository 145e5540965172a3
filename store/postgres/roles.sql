-- The database roles of a shared mykey registry (PostgreSQL 15).
--
-- Run as a superuser in the registry's database, after the registry's owner
-- created the schema with `mykey registry init`, and again after upgrading
-- mykey (a new version may add tables):
--
--   mykey registry sql roles | sudo -u postgres psql -d mykey -v ON_ERROR_STOP=1
--
-- mykey_desk: what a desk PC needs. It reads what a tap reads and the change
-- log its copy follows, and appends audit entries (taps, look-ups). It can
-- change no link, registration or roster: the audit log is append-only for
-- everyone (a trigger refuses UPDATE, DELETE and TRUNCATE).
--
-- The registry's owner (the role that ran `mykey registry init`) is the
-- administrator: registration, links, imports and the console password.
--
-- Give each desk PC a login of its own in mykey_desk, for example
--   CREATE ROLE desk_honkan1 LOGIN PASSWORD '...' IN ROLE mykey_desk;
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mykey_desk') THEN
        CREATE ROLE mykey_desk NOLOGIN;
    END IF;
END $$;

REVOKE ALL ON ALL TABLES IN SCHEMA public FROM mykey_desk;
GRANT USAGE ON SCHEMA public TO mykey_desk;
GRANT SELECT ON mykey_schema, mykey_ids, certificates, links, genuine, meta, clock, changes TO mykey_desk;
GRANT SELECT, INSERT ON audit TO mykey_desk;
