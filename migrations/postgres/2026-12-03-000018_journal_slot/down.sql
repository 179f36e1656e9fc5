-- Whatever waits in the journal moves into tips first (as intake::journal::drain does).
INSERT INTO tips (id, public_ref, channel, category, township, unit_code, status, priority,
    county_only, created_hour, updated_at, receipt_hash, reply_pubkey, payload, attachment_count,
    receipt_private, route_mac)
SELECT id, public_ref, channel, category, township, unit_code, 'received', 0, county_only,
    created_hour, created_hour, receipt_hash, reply_pubkey, payload, 0, receipt_private, route_mac
FROM tip_journal;
INSERT INTO sealed_keys (object_kind, object_id, recipient_key_id, encapped, sealed_key)
SELECT 'tip', id, dek_recipient, dek_encapped, dek_sealed FROM tip_journal WHERE true
ON CONFLICT DO NOTHING;
DROP TABLE tip_journal;
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
