-- Version 4 (SQLite): files posted in messages (attachments), who uploaded
-- them, and which rooms they were posted in (who may fetch them).
-- Times are INTEGER milliseconds since the Unix epoch, UTC.

-- A message's attachments as the wire shows them (MessagePack of the list);
-- only messages with files have a row, so history reads it by a LEFT JOIN.
CREATE TABLE message_attachments (
    room_id     INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    attachments BLOB    NOT NULL,
    PRIMARY KEY (room_id, seq),
    FOREIGN KEY (room_id, seq) REFERENCES messages (room_id, seq)
);

-- What the server found in a stored file's bytes; a picture also has its
-- size as shown and a thumbnail (a PNG blob of its own).
CREATE TABLE files (
    hash       BLOB    PRIMARY KEY REFERENCES blobs (hash),
    mime       TEXT    NOT NULL,
    size       INTEGER NOT NULL CHECK (size >= 0),
    width      INTEGER NULL,
    height     INTEGER NULL,
    thumbnail  BLOB    NULL REFERENCES blobs (hash),
    created_at INTEGER NOT NULL
);

CREATE INDEX files_by_thumbnail ON files (thumbnail);

-- A user's uploads: what they may attach, and what counts against their
-- daily quota (the first upload of a file only).
CREATE TABLE uploads (
    user_id     INTEGER NOT NULL REFERENCES users (id),
    hash        BLOB    NOT NULL REFERENCES files (hash),
    size        INTEGER NOT NULL CHECK (size >= 0),
    uploaded_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, hash)
);

CREATE INDEX uploads_by_time ON uploads (user_id, uploaded_at);

-- Where a file was posted: members of these rooms may fetch it.
CREATE TABLE message_files (
    hash    BLOB    NOT NULL REFERENCES files (hash),
    room_id INTEGER NOT NULL REFERENCES rooms (id),
    seq     INTEGER NOT NULL,
    PRIMARY KEY (hash, room_id, seq)
);
