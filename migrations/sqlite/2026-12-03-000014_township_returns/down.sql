DROP TABLE return_reminders;
DROP TABLE return_files;
DROP TABLE township_returns;
ALTER TABLE staff DROP COLUMN township;
