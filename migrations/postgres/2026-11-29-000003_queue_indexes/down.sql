DROP INDEX tips_channel_created;
DROP INDEX tips_township_created;
DROP INDEX tips_category_created;
DROP INDEX tips_status_created;
DROP INDEX tips_created;
CREATE INDEX tips_created ON tips (created_hour DESC, id);
DROP INDEX tips_queue;
CREATE INDEX tips_queue ON tips (unit_code, status, created_hour DESC, id);
