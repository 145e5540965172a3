-- The links table again, with its two uniqueness rules as named indexes
-- instead of inline constraints, so that a large import can drop them, append
-- its rows and build each index once from sorted input (inside the import's
-- transaction: a crash leaves the old table and indexes). The leading column
-- is the selective one; the rules are the same sets of columns as before.
CREATE TABLE links_v3 (
    service   TEXT NOT NULL,
    mykey_id  TEXT NOT NULL REFERENCES mykey_ids (id),
    patron    TEXT NOT NULL,
    linked_at TEXT NOT NULL
) STRICT;
INSERT INTO links_v3 (service, mykey_id, patron, linked_at)
    SELECT service, mykey_id, patron, linked_at FROM links;
DROP TABLE links;
ALTER TABLE links_v3 RENAME TO links;
-- One patron number per MyKey ID and one MyKey ID per patron number, per
-- service.
CREATE UNIQUE INDEX links_mykey_id ON links (mykey_id, service);
CREATE UNIQUE INDEX links_patron ON links (patron, service);
