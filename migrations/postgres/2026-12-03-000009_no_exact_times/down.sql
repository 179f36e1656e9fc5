DROP TABLE audit_pending;
DROP INDEX tips_reporter_wrote;
ALTER TABLE tips DROP COLUMN reporter_wrote;
