package verification

import "context"

// DocumentEraser is an optional Store capability, detected on the
// transaction-bound Store that InTx passes to its callback: a store that can
// also hold document bytes and their wrapped data keys (storage/postgres and
// storage/sqlite, through their Blobs and DataKeys) deletes them inside the
// transaction that erases the subject's records, so the bytes kept in the
// database go with the records or not at all. Erase still deletes through
// Options.Blobs as well, which also covers bytes kept elsewhere.
type DocumentEraser interface {
	// EraseDocuments deletes, in the current transaction, every blob and the
	// data key of owner (the subject's documents.BlobStore owner key). An
	// owner with nothing stored is not an error.
	EraseDocuments(ctx context.Context, owner string) error
}

// OwnerKey returns the owner key under which the Service stores a subject's
// document bytes in its documents.BlobStore (and its data key in a
// documents.KeyStore): "s" followed by the subject's ID.
func OwnerKey(subjectID int64) string { return owner(subjectID) }
