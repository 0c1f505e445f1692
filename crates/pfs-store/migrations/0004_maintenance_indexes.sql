-- pfs-store schema version 4: indexes for the engine's maintenance, no table change.
-- Never edit this file once released; add 0005_*.sql instead (see README.md).
--
-- Maintenance (expiring sessions rooted in invalid prekeys, deleting sessions expired
-- past the retention, keeping our rotated prekeys while a session is rooted in them,
-- marking devices stale) reads only these clear columns: no session row, and so no
-- sealed state or shared secret, is read for the sessions it leaves alone.

-- Unexpired sessions by side (the join with peer_prekeys / own_prekeys), responder
-- sessions by their root (our rotated prekeys); covering for those queries.
CREATE INDEX sessions_by_root
    ON sessions (we_initiated, rooted_spk, expired_at, peer_identity, peer_installation);

-- Expired sessions only (few): the retention sweep.
CREATE INDEX sessions_expired ON sessions (expired_at) WHERE expired_at IS NOT NULL;

-- Installations missing from their identity's bundles and not yet stale (few).
CREATE INDEX installations_missing
    ON installations (missing_since, identity, installation_id)
    WHERE missing_since IS NOT NULL AND stale = 0;
