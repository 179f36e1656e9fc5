-- Keyset pagination for county-wide queues filtered by one column: each index matches the
-- queue's order (created_hour DESC, id DESC), so the first page reads ~50 index entries.
DROP INDEX tips_queue;
CREATE INDEX tips_queue ON tips (unit_code, status, created_hour DESC, id DESC);
DROP INDEX tips_created;
CREATE INDEX tips_created ON tips (created_hour DESC, id DESC);
CREATE INDEX tips_status_created ON tips (status, created_hour DESC, id DESC);
CREATE INDEX tips_category_created ON tips (category, created_hour DESC, id DESC);
CREATE INDEX tips_township_created ON tips (township, created_hour DESC, id DESC);
CREATE INDEX tips_channel_created ON tips (channel, created_hour DESC, id DESC);
