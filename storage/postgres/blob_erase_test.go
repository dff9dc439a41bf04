package postgres

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/storage/storagetest"
)

// TestEraseDeletesDocumentsInTheRecordsTransaction: Service.Erase deletes
// the schema's bytes and data keys in the records' transaction.
func TestEraseDeletesDocumentsInTheRecordsTransaction(t *testing.T) {
	t.Parallel()
	testDSN(t)
	storagetest.RunDocumentErasure(t, func(t *testing.T) storagetest.DocumentStore {
		s := openStore(t)
		return storagetest.DocumentStore{Store: s, Blobs: s.Blobs(), Keys: s.DataKeys(), Sealed: sealedStore(t, s),
			Count: func(t *testing.T, table, owner string) int {
				var n int
				require.NoError(t, s.db.pool.QueryRow(t.Context(), s.sql(`SELECT count(*) FROM {{schema}}.`+table+` WHERE owner = $1`), owner).Scan(&n))
				return n
			}}
	})
}
