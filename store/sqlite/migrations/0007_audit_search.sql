-- The console searches the audit log by action, MyKey ID and date, newest
-- first, in a registry of a million entries. Each index ends in at (and the
-- rowid, seq), so a page of the newest matches is read from the index in
-- order, never sorted from all matches.
CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_action ON audit (action, at);
CREATE INDEX audit_mykey ON audit (mykey_id, at);
