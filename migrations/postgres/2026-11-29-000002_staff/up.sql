-- Staff accounts. Passwords as Argon2id PHC strings; the TOTP secret sealed under a key from
-- the keys dir (never in the clear, never usable without the keys).
CREATE TABLE staff (
    id TEXT PRIMARY KEY NOT NULL,
    username TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    unit_code TEXT REFERENCES units(code),
    password_hash TEXT NOT NULL,
    totp_sealed BYTEA,
    totp_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    totp_last_step BIGINT NOT NULL DEFAULT 0,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

-- Sessions live in the database so any node serves them and logout, password change or
-- disabling a user takes effect at once. Only a hash of the session id is stored.
CREATE TABLE sessions (
    id_hash BYTEA PRIMARY KEY NOT NULL,
    staff_id TEXT NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    -- 'password' until the TOTP code is given, then 'full'
    stage TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen BIGINT NOT NULL
);
CREATE INDEX sessions_staff ON sessions (staff_id);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    staff_id TEXT NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    token_hash BYTEA NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked BOOLEAN NOT NULL DEFAULT FALSE
);

-- Hash-chained, signed audit log. Appending locks the single head row.
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    object TEXT NOT NULL,
    outcome TEXT NOT NULL,
    prev_hash BYTEA NOT NULL,
    hash BYTEA NOT NULL,
    signature BYTEA NOT NULL
);
CREATE INDEX audit_log_actor ON audit_log (actor, seq);
CREATE INDEX audit_log_object ON audit_log (object, seq);

CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY NOT NULL,
    seq BIGINT NOT NULL,
    hash BYTEA NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '\x0000000000000000000000000000000000000000000000000000000000000000');

-- Status history: who moved a tip from what to what, with an optional sealed note.
CREATE TABLE tip_events (
    id TEXT PRIMARY KEY NOT NULL,
    tip_id TEXT NOT NULL REFERENCES tips(id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL
);
CREATE INDEX tip_events_tip ON tip_events (tip_id, at);

-- Internal notes, sealed to the office key like the tip itself.
CREATE TABLE tip_notes (
    id TEXT PRIMARY KEY NOT NULL,
    tip_id TEXT NOT NULL REFERENCES tips(id) ON DELETE CASCADE,
    author TEXT NOT NULL,
    at BIGINT NOT NULL,
    body BYTEA NOT NULL
);
CREATE INDEX tip_notes_tip ON tip_notes (tip_id, at);

ALTER TABLE tips ADD COLUMN assigned_to TEXT REFERENCES staff(id);
ALTER TABLE tips ADD COLUMN tags TEXT NOT NULL DEFAULT '';
-- The queue's keyset pagination: (created_hour, id) within a unit and status.
CREATE INDEX tips_unit_created ON tips (unit_code, created_hour DESC, id DESC);
