-- Each audit entry carries a hash over the previous entry's hash and its own
-- fields (store.ChainHash), so that an entry changed, removed or put in with
-- plain SQL breaks the chain that mykey audit verify checks. The hashes of
-- the entries made before this version are filled in right after this
-- script, in the same transaction.
ALTER TABLE audit ADD COLUMN hash BLOB;

-- Append-only, as before, except that a missing hash may be filled in once.
DROP TRIGGER audit_no_update;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
WHEN OLD.hash IS NOT NULL OR NEW.hash IS NULL
  OR NEW.seq IS NOT OLD.seq OR NEW.at IS NOT OLD.at OR NEW.os_user IS NOT OLD.os_user
  OR NEW.action IS NOT OLD.action OR NEW.mykey_id IS NOT OLD.mykey_id
  OR NEW.outcome IS NOT OLD.outcome OR NEW.detail IS NOT OLD.detail
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

-- INSERT OR REPLACE would remove an entry without the delete trigger: an
-- insert may not take an existing entry's place.
CREATE TRIGGER audit_no_replace BEFORE INSERT ON audit
WHEN EXISTS (SELECT 1 FROM audit WHERE seq = NEW.seq)
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
