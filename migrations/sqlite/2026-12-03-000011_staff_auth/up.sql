-- Issue 14: staff authentication.
-- An initial password (from `tipline user add` or `user reset-password`) must be changed at
-- first login and expires unused at password_expires_at (NULL: a password the user chose).
ALTER TABLE staff ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE staff ADD COLUMN password_expires_at BIGINT;
-- Wrong TOTP codes on one password-stage session; it ends after a few.
ALTER TABLE sessions ADD COLUMN totp_failures INTEGER NOT NULL DEFAULT 0;
-- What a bearer token may do (comma-separated scopes). Tokens from before get read only.
ALTER TABLE api_tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT 'read';
-- Failed logins per (username, client network): key = keyed hash (staff pepper) of both, so
-- neither the address nor the typed username is stored, and unknown usernames lock the same.
CREATE TABLE login_locks (
    lock_key BLOB PRIMARY KEY NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    locked_until BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
) WITHOUT ROWID;
