-- Facts about the registry itself, such as the fingerprint of the pseudonym
-- key its certificates were registered with: a registry and its key belong
-- together, and a registry opened with another key must say so.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
