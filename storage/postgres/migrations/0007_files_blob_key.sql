-- 0006: files by blob key.
--
-- The orphan sweep (verification.Service.SweepOrphans) asks which of a batch
-- of blobs in the BlobStore a file record still points to
-- (FileFilter.BlobKeys, blob_key = ANY($1)): one index probe per key.

CREATE INDEX files_blob_key_idx ON {{schema}}.files (blob_key);
