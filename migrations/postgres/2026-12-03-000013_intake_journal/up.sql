-- Issue 19: the intake journal. A new tip (no attachment, no contact, not staff-entered) is
-- committed into this one table: one b-tree insert on a random key (the receipt's keyed hash,
-- so the receipt holder's status lookup finds it here at once), no secondary index, the hour
-- only. A mover (intake::journal::drain) moves the rows in batches into the indexed `tips`
-- table and its object key into `sealed_keys`, in one transaction, in no order of arrival.
CREATE TABLE tip_journal (
    receipt_hash BYTEA PRIMARY KEY NOT NULL,
    id TEXT NOT NULL,
    public_ref TEXT NOT NULL,
    channel TEXT NOT NULL,
    category TEXT NOT NULL,
    township TEXT NOT NULL,
    unit_code TEXT NOT NULL,
    county_only BOOLEAN NOT NULL,
    created_hour BIGINT NOT NULL,
    reply_pubkey BYTEA NOT NULL,
    payload BYTEA NOT NULL,
    receipt_private BOOLEAN NOT NULL,
    route_mac BYTEA NOT NULL,
    -- the payload's DEK wrapped under the epoch key (sealed_keys row 'tip', id, dek_recipient)
    dek_recipient TEXT NOT NULL,
    dek_encapped BYTEA NOT NULL,
    dek_sealed BYTEA NOT NULL
);

-- Only tips from SMS carry a contact alias: the others need no entry in its index.
DROP INDEX tips_contact_alias;
CREATE INDEX tips_contact_alias ON tips (contact_alias) WHERE contact_alias IS NOT NULL;
