-- 0005: document bytes and wrapped data keys kept in the database
-- (postgres.BlobStore and postgres.DataKeyStore), so every replica on the
-- schema reads the same documents.

-- blobs: one row per complete blob, written in the same transaction as its
-- chunks (the foreign key of blob_chunks is checked at commit), so a blob is
-- either whole or absent. owner is the documents.BlobStore owner key.
-- created_at is the server's clock at the commit's statement, as a file's
-- modification time is the file system's: what an orphan sweep compares
-- with its grace period (ListBlobs).
CREATE TABLE {{schema}}.blobs (
    key        text COLLATE "C" PRIMARY KEY,
    owner      text COLLATE "C" NOT NULL,
    size       bigint NOT NULL,
    sha256     text NOT NULL,
    chunks     integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX blobs_owner_idx ON {{schema}}.blobs (owner);

-- blob_chunks: the bytes, in chunks of 256 KiB (the last one shorter),
-- numbered from 0. Deleting the blob deletes its chunks. EXTERNAL storage:
-- out of line in TOAST but never compressed (sealed blobs do not compress,
-- and reads then need no decompression buffer).
CREATE TABLE {{schema}}.blob_chunks (
    blob_key text COLLATE "C" NOT NULL
             REFERENCES {{schema}}.blobs (key) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    seq      integer NOT NULL,
    data     bytea NOT NULL,
    PRIMARY KEY (blob_key, seq)
);
ALTER TABLE {{schema}}.blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

-- data_keys: each owner's data key, wrapped by a master key
-- (documents.WrappedKey). Deleting the row is the crypto-erasure of every
-- blob sealed for the owner.
CREATE TABLE {{schema}}.data_keys (
    owner         text COLLATE "C" PRIMARY KEY,
    master_key_id text COLLATE "C" NOT NULL,
    ciphertext    bytea NOT NULL
);
