-- Version 1 (SQLite): users, rooms, memberships and messages.
-- Times are INTEGER milliseconds since the Unix epoch, UTC.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL,
    username_key  TEXT    NOT NULL UNIQUE,
    email         TEXT    NOT NULL,
    otp_algorithm TEXT    NOT NULL,
    otp_seed      TEXT    NOT NULL,
    otp_count     INTEGER NOT NULL,
    otp_last      BLOB    NOT NULL CHECK (length(otp_last) = 8),
    avatar        BLOB    NULL CHECK (avatar IS NULL OR length(avatar) = 32),
    created_at    INTEGER NOT NULL,
    last_login    INTEGER NULL
);

CREATE TABLE rooms (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    kind       TEXT    NOT NULL,
    latest_seq INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE memberships (
    room_id INTEGER NOT NULL REFERENCES rooms (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    PRIMARY KEY (room_id, user_id)
);

CREATE INDEX memberships_by_user ON memberships (user_id);

-- The primary key (room_id, seq) is the index history pages are read by.
CREATE TABLE messages (
    room_id   INTEGER NOT NULL REFERENCES rooms (id),
    seq       INTEGER NOT NULL,
    sender_id INTEGER NOT NULL REFERENCES users (id),
    text      TEXT    NOT NULL,
    sent_at   INTEGER NOT NULL,
    idem_key  BLOB    NOT NULL CHECK (length(idem_key) = 16),
    PRIMARY KEY (room_id, seq),
    UNIQUE (sender_id, idem_key)
);
