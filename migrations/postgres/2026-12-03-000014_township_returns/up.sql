-- Issue 20: township liaisons and their monthly return on the 28th.

-- A liaison account is tied to one township (catalog code); NULL for every other role.
ALTER TABLE staff ADD COLUMN township TEXT;

-- One row per version of a township's return for a report month (YYYY-MM). In the clear only
-- what the county's "who is late" page needs: township, month, version, the hour it was sent
-- and where the review stands. The content is sealed to the office key: `body` (progress,
-- summary, ledger figures, the list of files), `people` (the people-screened table, opened
-- only by the county brigade) and `comment` (the county's comment when sent back).
CREATE TABLE township_returns (
    id TEXT PRIMARY KEY NOT NULL,
    township TEXT NOT NULL,
    period TEXT NOT NULL,
    version INTEGER NOT NULL,
    sent_hour BIGINT NOT NULL,
    filed_by TEXT NOT NULL,
    -- submitted | accepted | sent_back | superseded
    status TEXT NOT NULL,
    body BYTEA NOT NULL,
    people BYTEA NOT NULL,
    comment BYTEA,
    reviewed_by TEXT,
    UNIQUE (township, period, version)
);
CREATE INDEX township_returns_period ON township_returns (period, township);

-- The signed and stamped scan and the activity photos, each sealed as one object. Which kind
-- a file is and its type are inside the return's sealed body.
CREATE TABLE return_files (
    id TEXT PRIMARY KEY NOT NULL,
    return_id TEXT NOT NULL REFERENCES township_returns(id) ON DELETE CASCADE,
    body BYTEA NOT NULL
);
CREATE INDEX return_files_return ON return_files (return_id);

-- Reminders sent: one row per (report month, which reminder), so any number of nodes send
-- each once.
CREATE TABLE return_reminders (
    period TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (period, kind)
);
