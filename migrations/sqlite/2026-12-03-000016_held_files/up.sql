-- Issue 16: files a resident attached to a web form that came back (a wrong captcha, another
-- invalid field) are kept, already re-encoded and sealed to the office key like attachments,
-- against the form's one-time token, so the corrected form sends them without choosing them
-- again. A reporter's action writes these rows: a random key, no rowid, no time finer than
-- the hour. The rows move into `attachments` in the tip's transaction, and are deleted when
-- used, dropped by the resident or expired (the hourly sweep).
CREATE TABLE held_files (
    -- the attachment id the file will have (random, 128 bits); its data key is in sealed_keys
    id TEXT PRIMARY KEY NOT NULL,
    -- keyed hash of the form token (the token itself is only in the resident's page)
    form_key BLOB NOT NULL,
    -- keyed hash of the token and the file's bytes: the same file sent again is held once
    file_key BLOB NOT NULL,
    -- order in the form (1, 2, ...)
    position INTEGER NOT NULL,
    -- content type and size, sealed under a key derived from the form token
    meta BLOB NOT NULL,
    nonce_prefix BLOB NOT NULL,
    -- the sealed STREAM segments, each with a 4-byte length prefix
    chunks BLOB NOT NULL,
    -- rounded up to the hour
    expires_at BIGINT NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX held_files_form_file ON held_files (form_key, file_key);
CREATE INDEX held_files_expiry ON held_files (expires_at);
