-- pfs-store schema version 4: indexes for the engine's maintenance, no table change.
-- Never edit this file once released; add 0005_*.sql instead (see README.md).
--
-- Maintenance (expiring sessions rooted in invalid prekeys, deleting sessions expired
-- past the retention, keeping our rotated prekeys while a session is rooted in them,
-- marking devices stale) reads only these indexes: no session row, and so no sealed
-- state or shared secret, is read for the sessions it leaves alone.

-- Unexpired sessions by side, in the order of the peer_prekeys key (the join with
-- peer_prekeys_expired walks both in order; the join with own_prekeys reads the root).
-- (expired_at, always NULL here, is listed so that the index covers those queries)
CREATE INDEX sessions_unexpired
    ON sessions (we_initiated, expired_at, peer_identity, peer_installation, rooted_spk)
    WHERE expired_at IS NULL;

-- Sessions we answered, by root (our rotated prekeys).
CREATE INDEX sessions_responder_root ON sessions (rooted_spk, expired_at) WHERE we_initiated = 0;

-- Expired sessions only (few): the retention sweep.
CREATE INDEX sessions_expired ON sessions (expired_at) WHERE expired_at IS NOT NULL;

-- Peer prekeys with their expired flag: the join above without reading the rows.
CREATE INDEX peer_prekeys_expired ON peer_prekeys (identity, installation_id, public, expired);

-- Installations missing from their identity's bundles and not yet stale (few).
CREATE INDEX installations_missing
    ON installations (missing_since, identity, installation_id)
    WHERE missing_since IS NOT NULL AND stale = 0;
