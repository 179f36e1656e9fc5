-- Monthly reports: one row per report period once its mail has been queued (the unique key is
-- what makes two nodes send it once), with the audit head it carried.
CREATE TABLE report_runs (
    period TEXT PRIMARY KEY NOT NULL,
    created_at BIGINT NOT NULL,
    head_seq BIGINT NOT NULL,
    head_hash BLOB NOT NULL
);
-- What retention deleted still counts: a deleted tip leaves its contribution to each measure
-- here (by Asia/Shanghai day and the report's dimensions), never anything else.
CREATE TABLE report_tombstones (
    day TEXT NOT NULL,
    measure TEXT NOT NULL,
    township TEXT NOT NULL,
    category TEXT NOT NULL,
    channel TEXT NOT NULL,
    unit_code TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (day, measure, township, category, channel, unit_code)
);
CREATE INDEX tip_events_status_at ON tip_events (to_status, at);
