-- pfs-store schema version 1.
-- RELEASED: never edit this file; add 0002_*.sql instead (see README.md).
-- Columns named *_enc hold AES-256-GCM(store key, random nonce, aad) as nonce(12) || ct || tag(16);
-- every other column is in clear so that lookups work.

CREATE TABLE meta (
    name  TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL
) WITHOUT ROWID;

CREATE TABLE account (
    id                  INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    identity_secret_enc BLOB NOT NULL,
    installation_id     TEXT NOT NULL,
    created_at          INTEGER NOT NULL
);

CREATE TABLE own_prekeys (
    public     BLOB PRIMARY KEY NOT NULL CHECK (length(public) = 33),
    secret_enc BLOB NOT NULL,
    version    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expired_at INTEGER
);
CREATE INDEX own_prekeys_by_version ON own_prekeys (version, public);

CREATE TABLE installations (
    identity                    BLOB NOT NULL CHECK (length(identity) = 33),
    installation_id             TEXT NOT NULL,
    timestamp                   INTEGER NOT NULL,
    enabled                     INTEGER NOT NULL,
    protocol_version            INTEGER NOT NULL,
    first_seen                  INTEGER NOT NULL,
    last_bundle_at              INTEGER NOT NULL,
    missing_since               INTEGER,
    stale                       INTEGER NOT NULL,
    heard_with_protocol_version INTEGER NOT NULL,
    PRIMARY KEY (identity, installation_id)
);

CREATE TABLE peer_prekeys (
    identity         BLOB NOT NULL CHECK (length(identity) = 33),
    installation_id  TEXT NOT NULL,
    public           BLOB NOT NULL CHECK (length(public) = 33),
    version          INTEGER NOT NULL,
    protocol_version INTEGER NOT NULL,
    bundle_timestamp INTEGER NOT NULL,
    expired          INTEGER NOT NULL,
    received_at      INTEGER NOT NULL,
    PRIMARY KEY (identity, installation_id, public)
);
CREATE INDEX peer_prekeys_by_version ON peer_prekeys (identity, installation_id, version DESC, public);

CREATE TABLE sessions (
    peer_identity          BLOB NOT NULL CHECK (length(peer_identity) = 33),
    id                     BLOB NOT NULL,
    peer_installation      TEXT NOT NULL,
    rooted_spk             BLOB NOT NULL CHECK (length(rooted_spk) = 33),
    we_initiated           INTEGER NOT NULL,
    suite                  INTEGER NOT NULL,
    state_enc              BLOB NOT NULL,
    shared_secret_enc      BLOB NOT NULL,
    pending_x3dh_ephemeral BLOB,
    created_at             INTEGER NOT NULL,
    last_used              INTEGER NOT NULL,
    expired_at             INTEGER,
    PRIMARY KEY (peer_identity, id)
);
CREATE INDEX sessions_by_installation ON sessions (peer_identity, peer_installation, id);

CREATE TABLE skipped_keys (
    session_peer       BLOB NOT NULL,
    session_id         BLOB NOT NULL,
    ratchet_key        BLOB NOT NULL,
    n                  INTEGER NOT NULL,
    message_key_enc    BLOB NOT NULL,
    seq                INTEGER NOT NULL,
    pending_message_id BLOB,
    PRIMARY KEY (session_peer, session_id, ratchet_key, n),
    FOREIGN KEY (session_peer, session_id) REFERENCES sessions (peer_identity, id) ON DELETE CASCADE
);
CREATE INDEX skipped_keys_by_seq ON skipped_keys (session_peer, session_id, seq, ratchet_key, n);
CREATE INDEX skipped_keys_by_message
    ON skipped_keys (pending_message_id, session_peer, session_id, ratchet_key, n)
    WHERE pending_message_id IS NOT NULL;

CREATE TABLE x3dh_seen (
    spk       BLOB NOT NULL,
    ephemeral BLOB NOT NULL,
    at        INTEGER NOT NULL,
    PRIMARY KEY (spk, ephemeral)
) WITHOUT ROWID;

CREATE TABLE rate_limits (
    kind TEXT NOT NULL,
    key  BLOB NOT NULL,
    at   INTEGER NOT NULL,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;

CREATE TABLE contacts (
    identity   BLOB PRIMARY KEY NOT NULL CHECK (length(identity) = 33),
    state      INTEGER NOT NULL,
    name       TEXT,
    updated_at INTEGER NOT NULL
);
