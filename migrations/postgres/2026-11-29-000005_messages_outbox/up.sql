-- Contact envelopes (DESIGN.md section 2): the phone number or address a tip came from is
-- sealed to the relay key in tips.contact; contact_alias is its keyed hash (alias pepper), so
-- later texts from the same number join the same conversation without the number being
-- stored. Both are purged at contact_purge_at.
ALTER TABLE tips ADD COLUMN contact_alias BYTEA;
ALTER TABLE tips ADD COLUMN contact_purge_at BIGINT;
ALTER TABLE tips ADD COLUMN unread_messages INTEGER NOT NULL DEFAULT 0;
CREATE INDEX tips_contact_alias ON tips (contact_alias);

-- The conversation between a reporter and the police. Each body is sealed once and its data
-- key twice: to the office key (epoch row) and to the reporter's reply key.
CREATE TABLE messages (
    id TEXT PRIMARY KEY NOT NULL,
    tip_id TEXT NOT NULL REFERENCES tips(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    -- reporter | police
    direction TEXT NOT NULL,
    author TEXT,
    -- the hour only, like tips
    at_hour BIGINT NOT NULL,
    body BYTEA NOT NULL,
    UNIQUE (tip_id, seq)
);

-- Outgoing work (mail, SMS). Payloads are sealed to the relay key; rows are deleted once
-- delivered. Workers claim rows (FOR UPDATE SKIP LOCKED on PostgreSQL).
CREATE TABLE outbox (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    payload BYTEA NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at BIGINT NOT NULL,
    claimed_by TEXT,
    claimed_until BIGINT NOT NULL DEFAULT 0,
    -- a class of error for operators, never content or addresses
    last_error TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX outbox_due ON outbox (next_at);

-- Staff notifications: where to reach each person (sealed to the relay key) and what they
-- want to hear about (comma list: new_tip, message, reward; channels: email, sms).
ALTER TABLE staff ADD COLUMN contact BYTEA;
ALTER TABLE staff ADD COLUMN notify TEXT NOT NULL DEFAULT 'new_tip,message,reward,email';
