-- Linking related tips (issue 6). Blind index: a truncated keyed hash of a normalized value
-- (phone, plate, ID number, venue, person) per tip, under a subkey per kind. A tag is only a
-- candidate: matches are confirmed by decrypting both tips. Never a value in the clear.
CREATE TABLE blind_index (
    kind TEXT NOT NULL,
    tag BYTEA NOT NULL,
    tip_id TEXT NOT NULL REFERENCES tips(id) ON DELETE CASCADE,
    PRIMARY KEY (kind, tag, tip_id)
);
CREATE INDEX blind_index_tip ON blind_index (tip_id);

-- The normalization version a tip was indexed with; 0 = not yet. Changing a rule re-indexes.
ALTER TABLE tips ADD COLUMN index_version INTEGER NOT NULL DEFAULT 0;
CREATE INDEX tips_unindexed ON tips (index_version);
-- Set when an officer marks a tip a duplicate of another (the tip it repeats).
ALTER TABLE tips ADD COLUMN duplicate_of TEXT;

-- Cases: tips an officer judged to be one lead. No title or content is stored.
CREATE TABLE cases (
    id TEXT PRIMARY KEY NOT NULL,
    public_ref TEXT NOT NULL UNIQUE,
    unit_code TEXT NOT NULL REFERENCES units(code),
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- A tip is in at most one case.
CREATE TABLE case_tips (
    tip_id TEXT PRIMARY KEY NOT NULL REFERENCES tips(id) ON DELETE CASCADE,
    case_id TEXT NOT NULL REFERENCES cases(id),
    added_by TEXT NOT NULL,
    added_at BIGINT NOT NULL
);
CREATE INDEX case_tips_case ON case_tips (case_id);
