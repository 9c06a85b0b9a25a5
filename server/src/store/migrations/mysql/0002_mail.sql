-- Version 2 (MySQL/MariaDB): the mail outbox and e-mail verification.
-- Same conventions as version 1: utf8mb4_bin, DATETIME(6) in UTC, statements
-- end with `;` at the end of a line, and each tolerates a re-run.

-- What to send to whom; the worker composes each mail when it sends it, so no
-- message body (and no verification code) is ever stored. Rows stay after
-- delivery with their state, for the operator. The index answers the worker's
-- question: which queued mails are due, earliest first.
CREATE TABLE IF NOT EXISTS mail_outbox (
    id              BIGINT       NOT NULL AUTO_INCREMENT,
    user_id         BIGINT       NOT NULL,
    kind            VARCHAR(16)  NOT NULL,
    state           VARCHAR(16)  NOT NULL,
    queued_at       DATETIME(6)  NOT NULL,
    next_attempt_at DATETIME(6)  NOT NULL,
    attempts        INT UNSIGNED NOT NULL DEFAULT 0,
    last_error      TEXT         NULL,
    finished_at     DATETIME(6)  NULL,
    PRIMARY KEY (id),
    KEY mail_outbox_due (state, next_attempt_at),
    CONSTRAINT mail_outbox_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Only accounts that registered while verification was required have a row;
-- verified_at IS NULL means the account cannot log in yet. The code is kept as
-- SHA-256(salt || code), never in clear.
CREATE TABLE IF NOT EXISTS email_verifications (
    user_id           BIGINT       NOT NULL,
    verified_at       DATETIME(6)  NULL,
    code_hash         BINARY(32)   NULL,
    code_salt         BINARY(16)   NULL,
    code_expires_at   DATETIME(6)  NULL,
    code_attempts     INT UNSIGNED NOT NULL DEFAULT 0,
    last_requested_at DATETIME(6)  NOT NULL,
    PRIMARY KEY (user_id),
    CONSTRAINT email_verifications_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
