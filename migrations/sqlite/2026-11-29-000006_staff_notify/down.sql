DROP INDEX tips_unnotified;
ALTER TABLE tips DROP COLUMN staff_notified;
