-- New tips wait here until the notifier has told the unit's staff (only that there is
-- something, never what). Tips that existed before this migration are not announced.
ALTER TABLE tips ADD COLUMN staff_notified BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE tips SET staff_notified = TRUE;
CREATE INDEX tips_unnotified ON tips (created_hour) WHERE staff_notified = FALSE;
