DROP TABLE login_locks;
ALTER TABLE api_tokens DROP COLUMN scopes;
ALTER TABLE sessions DROP COLUMN totp_failures;
ALTER TABLE staff DROP COLUMN password_expires_at;
ALTER TABLE staff DROP COLUMN must_change_password;
