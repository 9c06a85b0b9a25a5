-- Version 3 (MySQL/MariaDB): the content-addressed blob store and the avatars in it.
-- Same conventions as version 1: utf8mb4_bin, DATETIME(6) in UTC, statements
-- end with `;` at the end of a line, and each tolerates a re-run.

-- A blob is named by the SHA-256 of its bytes; the row is written in the same
-- transaction as all its chunks, so a blob that has a row is whole.
CREATE TABLE IF NOT EXISTS blobs (
    hash       BINARY(32)      NOT NULL,
    size       BIGINT UNSIGNED NOT NULL,
    created_at DATETIME(6)     NOT NULL,
    PRIMARY KEY (hash)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- The bytes, in chunks of at most 64 KiB numbered from 0 (none for an empty
-- blob), one chunk per statement so that no statement nears
-- max_allowed_packet however large the blob. MEDIUMBLOB because a full chunk
-- (65,536 bytes) is one byte more than a BLOB holds.
CREATE TABLE IF NOT EXISTS blob_chunks (
    hash  BINARY(32)   NOT NULL,
    idx   INT UNSIGNED NOT NULL,
    bytes MEDIUMBLOB   NOT NULL,
    PRIMARY KEY (hash, idx),
    CONSTRAINT blob_chunks_blob FOREIGN KEY (hash) REFERENCES blobs (hash)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Which blobs are avatars: `crawled` and `generated` ones make up the pool
-- offered to everyone, `upload` ones are only served by hash. `assigned`
-- counts how many new accounts were given the picture, so hand-outs stay even
-- across restarts and across the nodes of a cluster.
CREATE TABLE IF NOT EXISTS avatars (
    hash     BINARY(32)      NOT NULL,
    kind     VARCHAR(16)     NOT NULL,
    assigned BIGINT UNSIGNED NOT NULL DEFAULT 0,
    added_at DATETIME(6)     NOT NULL,
    PRIMARY KEY (hash),
    KEY avatars_by_kind (kind),
    CONSTRAINT avatars_blob FOREIGN KEY (hash) REFERENCES blobs (hash)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
