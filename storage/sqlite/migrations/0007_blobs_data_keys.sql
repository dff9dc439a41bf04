-- 0004: document bytes and wrapped data keys kept in the database
-- (sqlite.BlobStore and sqlite.DataKeyStore).
--
-- blobs has one row per complete blob, written in the same transaction as
-- its chunks (the foreign key of blob_chunks is checked at commit), so a
-- blob is either whole or absent. owner is the documents.BlobStore owner
-- key. blob_chunks holds the bytes in chunks of 256 KiB (the last one
-- shorter), numbered from 0; deleting the blob deletes its chunks
-- (foreign_keys is on for every connection of the store, and secure_delete
-- zeroes the freed pages).

-- created_at (unix microseconds) is the clock of the writing process, as a
-- file's modification time is: what an orphan sweep compares with its grace
-- period (ListBlobs).
CREATE TABLE {{prefix}}blobs (
    key        TEXT    NOT NULL PRIMARY KEY,
    owner      TEXT    NOT NULL,
    size       INTEGER NOT NULL,
    sha256     TEXT    NOT NULL,
    chunks     INTEGER NOT NULL,
    created_at INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER))
) STRICT;
CREATE INDEX {{prefix}}blobs_owner ON {{prefix}}blobs (owner);

CREATE TABLE {{prefix}}blob_chunks (
    blob_key TEXT    NOT NULL
             REFERENCES {{prefix}}blobs (key) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    seq      INTEGER NOT NULL,
    data     BLOB    NOT NULL,
    PRIMARY KEY (blob_key, seq)
) STRICT;

-- data_keys: each owner's data key wrapped by a master key
-- (documents.WrappedKey). Deleting the row is the crypto-erasure of every
-- blob sealed for the owner.
CREATE TABLE {{prefix}}data_keys (
    owner         TEXT NOT NULL PRIMARY KEY,
    master_key_id TEXT NOT NULL,
    ciphertext    BLOB NOT NULL
) STRICT;
