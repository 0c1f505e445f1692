-- pfs-store schema version 2: authenticated rows.
-- Never edit this file once released; add 0003_*.sql instead (see README.md).
--
-- Every row of the tables that decide who a message goes to or what the user is shown
-- (contacts, installations, peer_prekeys) carries row_mac:
--   HMAC-SHA256(row key, "pfs-store/v2" ‖ table ‖ "row" ‖ each column value, in schema
--   order, as type tag ‖ value, every part length-prefixed)
-- where the row key is HMAC-SHA256(store key, "pfs-store/v2 row authentication key").
-- The primary key columns are part of the input, so a tag authenticates its row's
-- content *at that key*: editing a field, or moving fields or tags between rows, fails.
-- The columns stay in clear so that lookups and ordering work.
--
-- This step only adds the column (NULL in existing rows). The Rust upgrade step that runs
-- right after it, in the same transaction, computes the tag of every existing row (it
-- needs the store key). From then on the store refuses a row whose tag is NULL or wrong.

ALTER TABLE contacts ADD COLUMN row_mac BLOB;
ALTER TABLE installations ADD COLUMN row_mac BLOB;
ALTER TABLE peer_prekeys ADD COLUMN row_mac BLOB;
