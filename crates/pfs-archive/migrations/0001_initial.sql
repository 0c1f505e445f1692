-- pfs-archive schema version 1. A released migration is never edited; add a new file.
--
-- One row per archived WakuMessage. `message` (the encoded protobuf, as stored) is the
-- last column so that reading the key columns never touches its overflow pages.
CREATE TABLE messages (
    id            INTEGER PRIMARY KEY,  -- insertion order
    hash          BLOB    NOT NULL,     -- 32-byte deterministic message hash (14/WAKU2-MESSAGE)
    pubsub_topic  TEXT    NOT NULL,
    content_topic TEXT    NOT NULL,
    timestamp     INTEGER NOT NULL,     -- the message's timestamp (ns), as stored
    received      INTEGER NOT NULL,     -- when we received it (ns)
    size          INTEGER NOT NULL,     -- length of `message` in bytes
    message       BLOB    NOT NULL      -- the encoded WakuMessage
);

-- Duplicates (same hash) are not stored; hash lookups and cursors.
CREATE UNIQUE INDEX messages_hash ON messages (hash);

-- Content-filtered queries: one (pubsub topic, content topic) range in (timestamp, hash)
-- order; covering for the key columns (the rowid is part of every index).
CREATE INDEX messages_topic_time ON messages (pubsub_topic, content_topic, timestamp, hash);

-- Queries without a content filter (time range only, or nothing).
CREATE INDEX messages_time ON messages (timestamp, hash);

-- Retention and size caps: oldest received first; covering for SUM(size).
CREATE INDEX messages_received ON messages (received, id, size);
