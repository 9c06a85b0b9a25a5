-- Version 1 (MySQL/MariaDB): users, rooms, memberships and messages.
-- utf8mb4 with binary collation everywhere, so Chinese and emoji round-trip and
-- comparisons are exact (case folding is done by the server, into username_key).
-- Times are DATETIME(6) in UTC. Statements end with `;` at the end of a line.
-- DDL is not transactional in MySQL, so every statement tolerates a re-run of a
-- half-applied migration.

CREATE TABLE IF NOT EXISTS users (
    id            BIGINT       NOT NULL AUTO_INCREMENT,
    username      VARCHAR(64)  NOT NULL,
    username_key  VARCHAR(64)  NOT NULL,
    email         VARCHAR(254) NOT NULL,
    otp_algorithm VARCHAR(8)   NOT NULL,
    otp_seed      VARCHAR(16)  NOT NULL,
    otp_count     INT UNSIGNED NOT NULL,
    otp_last      BINARY(8)    NOT NULL,
    avatar        BINARY(32)   NULL,
    created_at    DATETIME(6)  NOT NULL,
    last_login    DATETIME(6)  NULL,
    PRIMARY KEY (id),
    UNIQUE KEY users_username_key (username_key)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS rooms (
    id         BIGINT          NOT NULL AUTO_INCREMENT,
    name       VARCHAR(128)    NOT NULL,
    kind       VARCHAR(8)      NOT NULL,
    latest_seq BIGINT UNSIGNED NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    UNIQUE KEY rooms_name (name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS memberships (
    room_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    PRIMARY KEY (room_id, user_id),
    KEY memberships_by_user (user_id),
    CONSTRAINT memberships_room FOREIGN KEY (room_id) REFERENCES rooms (id),
    CONSTRAINT memberships_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- The clustered primary key (room_id, seq) is the index history pages are read by.
CREATE TABLE IF NOT EXISTS messages (
    room_id   BIGINT          NOT NULL,
    seq       BIGINT UNSIGNED NOT NULL,
    sender_id BIGINT          NOT NULL,
    text      TEXT            NOT NULL,
    sent_at   DATETIME(6)     NOT NULL,
    idem_key  BINARY(16)      NOT NULL,
    PRIMARY KEY (room_id, seq),
    UNIQUE KEY messages_idempotency (sender_id, idem_key),
    CONSTRAINT messages_room FOREIGN KEY (room_id) REFERENCES rooms (id),
    CONSTRAINT messages_sender FOREIGN KEY (sender_id) REFERENCES users (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
