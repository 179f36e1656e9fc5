-- Issue 13: no reporter time finer than the hour, no joinable order.
-- A reporter's message now waits for the digest pass, which says how many tips a reporter
-- wrote on, not which, and not when.
ALTER TABLE tips ADD COLUMN reporter_wrote BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX tips_reporter_wrote ON tips (unit_code) WHERE reporter_wrote;

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
    signature BYTEA NOT NULL
);
CREATE INDEX audit_pending_hour ON audit_pending (hour);

-- Round what reporters' actions already wrote (issue 13): expiries up to the hour, times down.
UPDATE idempotency SET expires_at = expires_at - (expires_at % 3600) + 3600 WHERE expires_at % 3600 <> 0;
UPDATE spent_tokens SET expires_at = expires_at - (expires_at % 3600) + 3600 WHERE expires_at % 3600 <> 0;
UPDATE tips SET contact_purge_at = contact_purge_at - (contact_purge_at % 3600) + 3600
    WHERE contact_purge_at IS NOT NULL AND contact_purge_at % 3600 <> 0;
UPDATE tips SET updated_at = updated_at - (updated_at % 3600);
UPDATE outbox SET created_at = created_at - (created_at % 3600), next_at = next_at - (next_at % 3600);
UPDATE rewards SET closed_at = closed_at - (closed_at % 3600) WHERE closed_at IS NOT NULL;
