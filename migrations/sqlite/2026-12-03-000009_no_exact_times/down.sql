-- The rebuilt tables stay WITHOUT ROWID: they hold the same rows either way.
DROP TABLE audit_pending;
DROP INDEX tips_reporter_wrote;
ALTER TABLE tips DROP COLUMN reporter_wrote;
