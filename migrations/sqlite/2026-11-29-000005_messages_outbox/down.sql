ALTER TABLE staff DROP COLUMN notify;
ALTER TABLE staff DROP COLUMN contact;
DROP TABLE outbox;
DROP TABLE messages;
DROP INDEX tips_contact_alias;
ALTER TABLE tips DROP COLUMN unread_messages;
ALTER TABLE tips DROP COLUMN contact_purge_at;
ALTER TABLE tips DROP COLUMN contact_alias;
