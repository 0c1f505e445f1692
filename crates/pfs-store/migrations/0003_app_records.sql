-- pfs-store schema version 3: application-layer records (pfs-app's messenger: the MVDS
-- outbox, received message ids, the Lamport clock).
-- Never edit this file once released; add 0004_*.sql instead (see README.md).
--
-- value = AES-256-GCM under the store key, nonce ‖ ciphertext ‖ tag, associated data
-- aad("app_records", "value", [kind, key, BE64(due)]): a value moved to another row, or a
-- row whose due time was edited, fails to open. `due` stays in clear for the index.
CREATE TABLE app_records (
    kind  TEXT    NOT NULL,
    key   BLOB    NOT NULL,
    value BLOB    NOT NULL,
    due   INTEGER NOT NULL,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;

CREATE INDEX app_records_due ON app_records (kind, due);
