-- Version 4 (MySQL/MariaDB): files posted in messages (attachments), who
-- uploaded them, and which rooms they were posted in (who may fetch them).
-- Same conventions as version 1: utf8mb4_bin, DATETIME(6) in UTC, statements
-- end with `;` at the end of a line, and each tolerates a re-run.

-- A message's attachments as the wire shows them (MessagePack of the list);
-- only messages with files have a row, so history reads it by a LEFT JOIN.
CREATE TABLE IF NOT EXISTS message_attachments (
    room_id     BIGINT          NOT NULL,
    seq         BIGINT UNSIGNED NOT NULL,
    attachments BLOB            NOT NULL,
    PRIMARY KEY (room_id, seq),
    CONSTRAINT message_attachments_message FOREIGN KEY (room_id, seq) REFERENCES messages (room_id, seq)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- What the server found in a stored file's bytes; a picture also has its
-- size as shown and a thumbnail (a PNG blob of its own).
CREATE TABLE IF NOT EXISTS files (
    hash       BINARY(32)      NOT NULL,
    mime       VARCHAR(100)    NOT NULL,
    size       BIGINT UNSIGNED NOT NULL,
    width      INT UNSIGNED    NULL,
    height     INT UNSIGNED    NULL,
    thumbnail  BINARY(32)      NULL,
    created_at DATETIME(6)     NOT NULL,
    PRIMARY KEY (hash),
    KEY files_by_thumbnail (thumbnail),
    CONSTRAINT files_blob FOREIGN KEY (hash) REFERENCES blobs (hash),
    CONSTRAINT files_thumbnail FOREIGN KEY (thumbnail) REFERENCES blobs (hash)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- A user's uploads: what they may attach, and what counts against their
-- daily quota (the first upload of a file only).
CREATE TABLE IF NOT EXISTS uploads (
    user_id     BIGINT          NOT NULL,
    hash        BINARY(32)      NOT NULL,
    size        BIGINT UNSIGNED NOT NULL,
    uploaded_at DATETIME(6)     NOT NULL,
    PRIMARY KEY (user_id, hash),
    KEY uploads_by_time (user_id, uploaded_at),
    CONSTRAINT uploads_user FOREIGN KEY (user_id) REFERENCES users (id),
    CONSTRAINT uploads_file FOREIGN KEY (hash) REFERENCES files (hash)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Where a file was posted: members of these rooms may fetch it.
CREATE TABLE IF NOT EXISTS message_files (
    hash    BINARY(32)      NOT NULL,
    room_id BIGINT          NOT NULL,
    seq     BIGINT UNSIGNED NOT NULL,
    PRIMARY KEY (hash, room_id, seq),
    CONSTRAINT message_files_file FOREIGN KEY (hash) REFERENCES files (hash),
    CONSTRAINT message_files_room FOREIGN KEY (room_id) REFERENCES rooms (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
