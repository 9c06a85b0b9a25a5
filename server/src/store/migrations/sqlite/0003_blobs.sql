-- Version 3 (SQLite): the content-addressed blob store and the avatars in it.
-- Times are INTEGER milliseconds since the Unix epoch, UTC.

-- A blob is named by the SHA-256 of its bytes; the row is written in the same
-- transaction as all its chunks, so a blob that has a row is whole.
CREATE TABLE blobs (
    hash       BLOB    PRIMARY KEY CHECK (length(hash) = 32),
    size       INTEGER NOT NULL CHECK (size >= 0),
    created_at INTEGER NOT NULL
);

-- The bytes, in chunks of at most 64 KiB numbered from 0 (none for an empty
-- blob). A rowid table on purpose: SQLite keeps large rows poorly in a
-- WITHOUT ROWID table's B-tree.
CREATE TABLE blob_chunks (
    hash  BLOB    NOT NULL REFERENCES blobs (hash),
    idx   INTEGER NOT NULL CHECK (idx >= 0),
    bytes BLOB    NOT NULL,
    PRIMARY KEY (hash, idx)
);

-- Which blobs are avatars: `crawled` and `generated` ones make up the pool
-- offered to everyone, `upload` ones are only served by hash. `assigned`
-- counts how many new accounts were given the picture, so hand-outs stay even
-- across restarts and across the nodes of a cluster.
CREATE TABLE avatars (
    hash     BLOB    PRIMARY KEY REFERENCES blobs (hash),
    kind     TEXT    NOT NULL,
    assigned INTEGER NOT NULL DEFAULT 0 CHECK (assigned >= 0),
    added_at INTEGER NOT NULL
);

CREATE INDEX avatars_by_kind ON avatars (kind);
