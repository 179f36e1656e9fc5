DROP TABLE case_tips;
DROP TABLE cases;
DROP INDEX tips_unindexed;
ALTER TABLE tips DROP COLUMN duplicate_of;
ALTER TABLE tips DROP COLUMN index_version;
DROP TABLE blind_index;
