-- The MyKey registry, version 1. Times are RFC 3339 UTC text.
CREATE TABLE mykey_ids (
    id         TEXT PRIMARY KEY CHECK (length(id) = 8),
    created_at TEXT NOT NULL
) STRICT;

-- A certificate is known only by its keyed pseudonym, never by its issuance
-- number.
CREATE TABLE certificates (
    pseudonym     BLOB PRIMARY KEY CHECK (length(pseudonym) = 32),
    mykey_id      TEXT NOT NULL REFERENCES mykey_ids (id),
    not_after     TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('active', 'superseded', 'revoked')),
    registered_at TEXT NOT NULL
) STRICT;
CREATE INDEX certificates_mykey_id ON certificates (mykey_id);

-- One patron number per MyKey ID and one MyKey ID per patron number, per
-- service.
CREATE TABLE links (
    service   TEXT NOT NULL,
    mykey_id  TEXT NOT NULL REFERENCES mykey_ids (id),
    patron    TEXT NOT NULL,
    linked_at TEXT NOT NULL,
    PRIMARY KEY (service, mykey_id),
    UNIQUE (service, patron)
) STRICT;

-- Append-only: no patron numbers, no issuance numbers.
CREATE TABLE audit (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    at       TEXT NOT NULL,
    os_user  TEXT NOT NULL,
    action   TEXT NOT NULL,
    mykey_id TEXT NOT NULL,
    outcome  TEXT NOT NULL,
    detail   TEXT NOT NULL
) STRICT;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
