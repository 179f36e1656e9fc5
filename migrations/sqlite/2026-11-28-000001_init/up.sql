-- Public fingerprints of the keys this database was initialized with; never the keys.
CREATE TABLE keyring (
    purpose TEXT PRIMARY KEY NOT NULL,
    fingerprint TEXT NOT NULL
);

CREATE TABLE units (
    code TEXT PRIMARY KEY NOT NULL,
    name_zh TEXT NOT NULL,
    name_en TEXT NOT NULL,
    -- the county anti-drug brigade: takes county-wide categories and county-only tips
    county_wide BOOLEAN NOT NULL DEFAULT FALSE
);

-- Routing: each township is served by exactly one unit.
CREATE TABLE unit_townships (
    township TEXT PRIMARY KEY NOT NULL,
    unit_code TEXT NOT NULL REFERENCES units(code)
);

CREATE TABLE tips (
    id TEXT PRIMARY KEY NOT NULL,
    public_ref TEXT NOT NULL UNIQUE,
    channel TEXT NOT NULL,
    category TEXT NOT NULL,
    township TEXT NOT NULL,
    unit_code TEXT NOT NULL REFERENCES units(code),
    status TEXT NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0,
    county_only BOOLEAN NOT NULL,
    -- only the hour of submission is kept in the clear (unix seconds, truncated to the hour)
    created_hour BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    receipt_hash BLOB NOT NULL UNIQUE,
    reply_pubkey BLOB NOT NULL,
    payload BLOB NOT NULL,
    contact BLOB,
    attachment_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX tips_queue ON tips (unit_code, status, created_hour DESC, id);
CREATE INDEX tips_created ON tips (created_hour DESC, id);

-- Every sealed data key, so key rotation is one loop over one table.
CREATE TABLE sealed_keys (
    object_kind TEXT NOT NULL,
    object_id TEXT NOT NULL,
    recipient_key_id TEXT NOT NULL,
    encapped BLOB NOT NULL,
    sealed_key BLOB NOT NULL,
    PRIMARY KEY (object_kind, object_id, recipient_key_id)
);
CREATE INDEX sealed_keys_recipient ON sealed_keys (recipient_key_id);

CREATE TABLE attachments (
    id TEXT PRIMARY KEY NOT NULL,
    tip_id TEXT NOT NULL REFERENCES tips(id) ON DELETE CASCADE,
    nonce_prefix BLOB NOT NULL,
    chunk_count INTEGER NOT NULL
);
CREATE INDEX attachments_tip ON attachments (tip_id);

CREATE TABLE attachment_chunks (
    attachment_id TEXT NOT NULL REFERENCES attachments(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (attachment_id, seq)
);

-- Retried submissions: the receipt is sealed under a key derived from the client's token,
-- so only the client that holds the token can get it back.
CREATE TABLE idempotency (
    key_hash BLOB PRIMARY KEY NOT NULL,
    request_hash BLOB NOT NULL,
    sealed_receipt BLOB NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX idempotency_expiry ON idempotency (expires_at);

-- Single-use tokens (solved captchas) across every node.
CREATE TABLE spent_tokens (
    fingerprint BLOB PRIMARY KEY NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX spent_tokens_expiry ON spent_tokens (expires_at);
