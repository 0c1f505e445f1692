-- pfs-archive schema version 2. A released migration is never edited; add a new file.
--
-- The encoded messages move out of `messages` (rows in insertion order) into `bodies`, a
-- WITHOUT ROWID table clustered by (pubsub_topic, content_topic, timestamp, hash): the
-- messages of one content-filtered page are neighbours on a few pages instead of one
-- table page each. Its primary key serves the content-filtered queries that
-- `messages_topic_time` served, so that index goes. `messages` keeps the metadata (hash,
-- topics, timestamp, receive time, size) for deduplication, hash lookups, time queries,
-- retention and the caps; deleting a row of `messages` deletes its body (trigger).
--
-- An existing archive is copied over in key order inside the upgrade's transaction. The
-- pages freed by the old column stay in the file and are reused by new messages (VACUUM
-- returns them to the file system).
CREATE TABLE bodies (
    pubsub_topic  TEXT    NOT NULL,
    content_topic TEXT    NOT NULL,
    timestamp     INTEGER NOT NULL,     -- as in `messages`
    hash          BLOB    NOT NULL,     -- as in `messages`
    message       BLOB    NOT NULL,     -- the encoded WakuMessage
    PRIMARY KEY (pubsub_topic, content_topic, timestamp, hash)
) WITHOUT ROWID;

INSERT INTO bodies (pubsub_topic, content_topic, timestamp, hash, message)
    SELECT pubsub_topic, content_topic, timestamp, hash, message FROM messages
    ORDER BY pubsub_topic, content_topic, timestamp, hash;

DROP INDEX messages_topic_time;
ALTER TABLE messages DROP COLUMN message;

CREATE TRIGGER messages_delete_body AFTER DELETE ON messages BEGIN
    DELETE FROM bodies
    WHERE pubsub_topic = OLD.pubsub_topic AND content_topic = OLD.content_topic
      AND timestamp = OLD.timestamp AND hash = OLD.hash;
END;
