DROP INDEX tip_events_status_at;
DROP TABLE report_tombstones;
DROP TABLE report_runs;
