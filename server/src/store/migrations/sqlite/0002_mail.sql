-- Version 2 (SQLite): the mail outbox and e-mail verification.
-- Times are INTEGER milliseconds since the Unix epoch, UTC.

-- What to send to whom; the worker composes each mail when it sends it, so no
-- message body (and no verification code) is ever stored. Rows stay after
-- delivery with their state, for the operator.
CREATE TABLE mail_outbox (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users (id),
    kind            TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    queued_at       INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NULL,
    finished_at     INTEGER NULL
);

-- The worker's question: which queued mails are due, earliest first.
CREATE INDEX mail_outbox_due ON mail_outbox (state, next_attempt_at);

-- Only accounts that registered while verification was required have a row;
-- verified_at IS NULL means the account cannot log in yet. The code is kept as
-- SHA-256(salt || code), never in clear.
CREATE TABLE email_verifications (
    user_id           INTEGER PRIMARY KEY REFERENCES users (id),
    verified_at       INTEGER NULL,
    code_hash         BLOB    NULL CHECK (code_hash IS NULL OR length(code_hash) = 32),
    code_salt         BLOB    NULL CHECK (code_salt IS NULL OR length(code_salt) = 16),
    code_expires_at   INTEGER NULL,
    code_attempts     INTEGER NOT NULL DEFAULT 0,
    last_requested_at INTEGER NOT NULL
);
