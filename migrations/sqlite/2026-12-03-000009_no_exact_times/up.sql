-- Issue 13: no reporter time finer than the hour, no joinable order.
--
-- Every table a reporter's action inserts into becomes WITHOUT ROWID: a rowid table numbers
-- its rows in insertion order, and that order, joined with rows that carry exact times (staff
-- notes, audit entries), brackets when a tip, a message or a contact envelope arrived. A
-- WITHOUT ROWID table is a b-tree on its random primary key, in no order of arrival. The
-- tables are rebuilt (copy, drop, rename) with foreign keys off, so children keep their rows;
-- hence this migration runs outside diesel's transaction and opens its own.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE tips_new (
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
    -- the hour of the last change
    updated_at BIGINT NOT NULL,
    receipt_hash BLOB NOT NULL UNIQUE,
    reply_pubkey BLOB NOT NULL,
    payload BLOB NOT NULL,
    contact BLOB,
    attachment_count INTEGER NOT NULL DEFAULT 0,
    assigned_to TEXT REFERENCES staff(id),
    tags TEXT NOT NULL DEFAULT '',
    receipt_private BOOLEAN NOT NULL DEFAULT TRUE,
    contact_alias BLOB,
    contact_purge_at BIGINT,
    unread_messages INTEGER NOT NULL DEFAULT 0,
    staff_notified BOOLEAN NOT NULL DEFAULT FALSE,
    index_version INTEGER NOT NULL DEFAULT 0,
    duplicate_of TEXT,
    reporter_wrote BOOLEAN NOT NULL DEFAULT FALSE
) WITHOUT ROWID;
INSERT INTO tips_new (id, public_ref, channel, category, township, unit_code, status, priority, county_only, created_hour, updated_at, receipt_hash, reply_pubkey, payload, contact, attachment_count, assigned_to, tags, receipt_private, contact_alias, contact_purge_at, unread_messages, staff_notified, index_version, duplicate_of) SELECT id, public_ref, channel, category, township, unit_code, status, priority, county_only, created_hour, updated_at, receipt_hash, reply_pubkey, payload, contact, attachment_count, assigned_to, tags, receipt_private, contact_alias, contact_purge_at, unread_messages, staff_notified, index_version, duplicate_of FROM tips;
DROP TABLE tips;
ALTER TABLE tips_new RENAME TO tips;
CREATE INDEX tips_unit_created ON tips (unit_code, created_hour DESC, id DESC);
CREATE INDEX tips_queue ON tips (unit_code, status, created_hour DESC, id DESC);
CREATE INDEX tips_created ON tips (created_hour DESC, id DESC);
CREATE INDEX tips_status_created ON tips (status, created_hour DESC, id DESC);
CREATE INDEX tips_category_created ON tips (category, created_hour DESC, id DESC);
CREATE INDEX tips_township_created ON tips (township, created_hour DESC, id DESC);
CREATE INDEX tips_channel_created ON tips (channel, created_hour DESC, id DESC);
CREATE INDEX tips_contact_alias ON tips (contact_alias);
CREATE INDEX tips_unnotified ON tips (created_hour) WHERE staff_notified = FALSE;
CREATE INDEX tips_unindexed ON tips (index_version);
CREATE INDEX tips_reporter_wrote ON tips (unit_code) WHERE reporter_wrote;

CREATE TABLE sealed_keys_new (
    object_kind TEXT NOT NULL,
    object_id TEXT NOT NULL,
    recipient_key_id TEXT NOT NULL,
    encapped BLOB NOT NULL,
    sealed_key BLOB NOT NULL,
    PRIMARY KEY (object_kind, object_id, recipient_key_id)
) WITHOUT ROWID;
INSERT INTO sealed_keys_new (object_kind, object_id, recipient_key_id, encapped, sealed_key) SELECT object_kind, object_id, recipient_key_id, encapped, sealed_key FROM sealed_keys;
DROP TABLE sealed_keys;
ALTER TABLE sealed_keys_new RENAME TO sealed_keys;
CREATE INDEX sealed_keys_recipient ON sealed_keys (recipient_key_id);

CREATE TABLE attachments_new (
    id TEXT PRIMARY KEY NOT NULL,
    tip_id TEXT NOT NULL REFERENCES tips(id) ON DELETE CASCADE,
    nonce_prefix BLOB NOT NULL,
    chunk_count INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO attachments_new (id, tip_id, nonce_prefix, chunk_count) SELECT id, tip_id, nonce_prefix, chunk_count FROM attachments;
DROP TABLE attachments;
ALTER TABLE attachments_new RENAME TO attachments;
CREATE INDEX attachments_tip ON attachments (tip_id);

CREATE TABLE attachment_chunks_new (
    attachment_id TEXT NOT NULL REFERENCES attachments(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (attachment_id, seq)
) WITHOUT ROWID;
INSERT INTO attachment_chunks_new (attachment_id, seq, data) SELECT attachment_id, seq, data FROM attachment_chunks;
DROP TABLE attachment_chunks;
ALTER TABLE attachment_chunks_new RENAME TO attachment_chunks;

CREATE TABLE idempotency_new (
    key_hash BLOB PRIMARY KEY NOT NULL,
    request_hash BLOB NOT NULL,
    sealed_receipt BLOB NOT NULL,
    -- rounded up to the hour
    expires_at BIGINT NOT NULL
) WITHOUT ROWID;
INSERT INTO idempotency_new (key_hash, request_hash, sealed_receipt, expires_at) SELECT key_hash, request_hash, sealed_receipt, expires_at FROM idempotency;
DROP TABLE idempotency;
ALTER TABLE idempotency_new RENAME TO idempotency;
CREATE INDEX idempotency_expiry ON idempotency (expires_at);

CREATE TABLE spent_tokens_new (
    fingerprint BLOB PRIMARY KEY NOT NULL,
    -- rounded up to the hour
    expires_at BIGINT NOT NULL
) WITHOUT ROWID;
INSERT INTO spent_tokens_new (fingerprint, expires_at) SELECT fingerprint, expires_at FROM spent_tokens;
DROP TABLE spent_tokens;
ALTER TABLE spent_tokens_new RENAME TO spent_tokens;
CREATE INDEX spent_tokens_expiry ON spent_tokens (expires_at);

CREATE TABLE messages_new (
    id TEXT PRIMARY KEY NOT NULL,
    tip_id TEXT NOT NULL REFERENCES tips(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    -- reporter | police
    direction TEXT NOT NULL,
    author TEXT,
    -- the hour only, like tips
    at_hour BIGINT NOT NULL,
    body BLOB NOT NULL,
    UNIQUE (tip_id, seq)
) WITHOUT ROWID;
INSERT INTO messages_new (id, tip_id, seq, direction, author, at_hour, body) SELECT id, tip_id, seq, direction, author, at_hour, body FROM messages;
DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;

CREATE TABLE outbox_new (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    payload BLOB NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at BIGINT NOT NULL,
    claimed_by TEXT,
    claimed_until BIGINT NOT NULL DEFAULT 0,
    -- a class of error for operators, never content or addresses
    last_error TEXT,
    -- the hour only
    created_at BIGINT NOT NULL
) WITHOUT ROWID;
INSERT INTO outbox_new (id, kind, payload, attempts, next_at, claimed_by, claimed_until, last_error, created_at) SELECT id, kind, payload, attempts, next_at, claimed_by, claimed_until, last_error, created_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (next_at);

CREATE TABLE blind_index_new (
    kind TEXT NOT NULL,
    tag BLOB NOT NULL,
    tip_id TEXT NOT NULL REFERENCES tips(id) ON DELETE CASCADE,
    PRIMARY KEY (kind, tag, tip_id)
) WITHOUT ROWID;
INSERT INTO blind_index_new (kind, tag, tip_id) SELECT kind, tag, tip_id FROM blind_index;
DROP TABLE blind_index;
ALTER TABLE blind_index_new RENAME TO blind_index;
CREATE INDEX blind_index_tip ON blind_index (tip_id);

-- Audit entries of changes a reporter is present for (a payout at the counter), signed, with
-- the hour only, waiting for the hour to end; the digest pass chains them in random order with
-- the hour as their time (audit::defer, audit::flush_deferred).
CREATE TABLE audit_pending (
    id TEXT PRIMARY KEY NOT NULL,
    hour BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    object TEXT NOT NULL,
    outcome TEXT NOT NULL,
    signature BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX audit_pending_hour ON audit_pending (hour);

-- Round what reporters' actions already wrote (issue 13): expiries up to the hour, times down.
UPDATE idempotency SET expires_at = expires_at - (expires_at % 3600) + 3600 WHERE expires_at % 3600 <> 0;
UPDATE spent_tokens SET expires_at = expires_at - (expires_at % 3600) + 3600 WHERE expires_at % 3600 <> 0;
UPDATE tips SET contact_purge_at = contact_purge_at - (contact_purge_at % 3600) + 3600
    WHERE contact_purge_at IS NOT NULL AND contact_purge_at % 3600 <> 0;
UPDATE tips SET updated_at = updated_at - (updated_at % 3600);
UPDATE outbox SET created_at = created_at - (created_at % 3600), next_at = next_at - (next_at % 3600);
UPDATE rewards SET closed_at = closed_at - (closed_at % 3600) WHERE closed_at IS NOT NULL;

COMMIT;
PRAGMA foreign_keys = ON;
