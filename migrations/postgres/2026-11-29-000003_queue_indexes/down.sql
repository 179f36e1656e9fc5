DROP INDEX tips_channel_created;
DROP INDEX tips_township_created;
DROP INDEX tips_category_created;
DROP INDEX tips_status_created;
DROP INDEX tips_created;
CREATE INDEX tips_created ON tips (created_hour DESC, id);
