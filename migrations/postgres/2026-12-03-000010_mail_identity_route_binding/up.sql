-- Issue 13, items 7 and 9.
-- A keyed MAC over a tip's id and its routing columns (unit, county-only, category, township),
-- under a key derived from the peppers in the keys dir, never in the database: a direct write
-- that re-routes a tip no longer matches it, and the staff views refuse or flag the tip.
-- Tips stored before this migration have none and are flagged as unbound.
ALTER TABLE tips ADD COLUMN route_mac BYTEA;
-- At most two acknowledgements a day to one mail address: a keyed hash of address and UTC date,
-- a count, and the date (no finer time); rows of past days are purged.
CREATE TABLE mail_ack_quota (
    key_hash BYTEA PRIMARY KEY NOT NULL,
    day BIGINT NOT NULL,
    sent INTEGER NOT NULL
);
-- Mail no longer threads by address: the address-derived aliases of emailed tips go.
UPDATE tips SET contact_alias = NULL WHERE channel = 'email';
