-- The library's roster of patron numbers, exported from its system. When a
-- service has a roster, only its active, unexpired patron numbers can be
-- linked.
CREATE TABLE rosters (
    service   TEXT PRIMARY KEY,
    loaded_at TEXT NOT NULL,
    patrons   INTEGER NOT NULL
) STRICT;

CREATE TABLE roster_patrons (
    service TEXT NOT NULL,
    patron  TEXT NOT NULL,
    active  INTEGER NOT NULL CHECK (active IN (0, 1)),
    expires TEXT NOT NULL, -- YYYY-MM-DD, or '' for none
    PRIMARY KEY (service, patron)
) STRICT;
