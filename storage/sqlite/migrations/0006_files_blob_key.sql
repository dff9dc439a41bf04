-- 0005: files by blob key.
--
-- The orphan sweep (verification.Service.SweepOrphans) asks which of a batch
-- of blobs in the BlobStore a file record still points to
-- (FileFilter.BlobKeys): one index seek per key.

CREATE INDEX {{prefix}}files_blob_key ON {{prefix}}files (blob_key);
