-- Web console (issue 7): its users and sessions. A user belongs to one
-- account (a tenant) or, with account '', to the operator; only the bcrypt
-- hash of its password is kept.
CREATE TABLE console_users (
    name       {{.Text}} PRIMARY KEY,
    account    {{.Text}} NOT NULL,      -- '' = the operator
    hash       {{.Text}} NOT NULL,      -- bcrypt
    created_at {{.Int}} NOT NULL
);
CREATE INDEX console_users_account ON console_users (account);

-- Signed-in sessions, shared by every node of the database. id is the
-- SHA-256 (hex) of the random 256-bit session id the cookie carries, so a
-- copy of the table opens no session. A session signed in with a user, an
-- AccessKey or the operator key ends when that user is removed, that key is
-- revoked or the operator key changes (operator_fp, checked by the console).
CREATE TABLE console_sessions (
    id          {{.Text}} PRIMARY KEY,
    via         {{.Text}} NOT NULL,     -- password, accesskey, operator-key
    user_name   {{.Text}} NOT NULL,     -- the console user ('' unless via password)
    key_id      {{.Text}} NOT NULL,     -- the AccessKey ID ('' unless via accesskey)
    operator_fp {{.Text}} NOT NULL,     -- fingerprint of the operator key ('' unless via operator-key)
    account     {{.Text}} NOT NULL,     -- '' for an operator session
    operator    {{.Int}} NOT NULL,  -- 1 for an operator session
    csrf        {{.Text}} NOT NULL,     -- the form token bound to the session
    created_at  {{.Int}} NOT NULL,
    last_seen   {{.Int}} NOT NULL
);
CREATE INDEX console_sessions_last_seen ON console_sessions (last_seen);
