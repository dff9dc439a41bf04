package sqlite

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/storage/storagetest"
)

// TestEraseDeletesDocumentsInTheRecordsTransaction: Service.Erase deletes
// the database's bytes and data keys in the records' transaction.
func TestEraseDeletesDocumentsInTheRecordsTransaction(t *testing.T) {
	t.Parallel()
	storagetest.RunDocumentErasure(t, func(t *testing.T) storagetest.DocumentStore {
		s := openBlobStore(t)
		return storagetest.DocumentStore{Store: s, Blobs: s.Blobs(), Keys: s.DataKeys(), Sealed: sealedOver(t, s),
			Count: func(t *testing.T, table, owner string) int {
				var n int
				require.NoError(t, s.c.reader.QueryRowContext(t.Context(), withPrefix(`SELECT count(*) FROM {{prefix}}`+table+` WHERE owner = ?`, s.c.prefix), owner).Scan(&n))
				return n
			}}
	})
}
