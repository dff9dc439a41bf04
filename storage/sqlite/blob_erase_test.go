package sqlite

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// TestEraseDeletesDocumentsInTheRecordsTransaction runs Service.Erase with
// sealed blobs and data keys in the database: the subject's rows go, the
// other subject's stay. A second case stores bytes in the database that
// Options.Blobs does not know about: only the transaction's EraseDocuments
// can have deleted them.
func TestEraseDeletesDocumentsInTheRecordsTransaction(t *testing.T) {
	t.Parallel()
	count := func(t *testing.T, s *Store, table, owner string) int {
		var n int
		require.NoError(t, s.c.reader.QueryRowContext(t.Context(), withPrefix(`SELECT count(*) FROM {{prefix}}`+table+` WHERE owner = ?`, s.c.prefix), owner).Scan(&n))
		return n
	}

	t.Run("sealed blobs and keys in the database", func(t *testing.T) {
		t.Parallel()
		s := openBlobStore(t)
		clock := verificationtest.NewClock(verificationtest.Start)
		svc, err := verification.New(verificationtest.SeedLadder(t), s, verification.Options{Blobs: sealedOver(t, s), NowFunc: clock.Now})
		require.NoError(t, err)
		alice := verificationtest.CreateSubject(t, svc)
		bob := verificationtest.CreateSubject(t, svc)
		verificationtest.Upload(t, svc, alice.ID, "passport", "front")
		verificationtest.Upload(t, svc, alice.ID, "passport", "back")
		bobFile := verificationtest.Upload(t, svc, bob.ID, "passport", "front")
		a, b := verification.OwnerKey(alice.ID), verification.OwnerKey(bob.ID)
		require.Equal(t, 2, count(t, s, "blobs", a))
		require.Equal(t, 1, count(t, s, "data_keys", a))

		require.NoError(t, svc.Erase(t.Context(), verification.HostActor(), alice.ID))
		require.Zero(t, count(t, s, "blobs", a), "the erased subject's blobs are gone")
		require.Zero(t, count(t, s, "data_keys", a), "the erased subject's data key is gone")
		require.Equal(t, 1, count(t, s, "blobs", b), "the other subject keeps its blob")
		require.Equal(t, 1, count(t, s, "data_keys", b))
		_, rc, err := svc.OpenFile(t.Context(), verification.HostActor(), bobFile.ID)
		require.NoError(t, err, "the other subject's file still reads")
		require.NoError(t, rc.Close())
	})

	t.Run("bytes Options.Blobs does not know", func(t *testing.T) {
		t.Parallel()
		s := openBlobStore(t)
		files, err := documents.NewFileStore(t.TempDir())
		require.NoError(t, err)
		svc, err := verification.New(verificationtest.SeedLadder(t), s, verification.Options{Blobs: files})
		require.NoError(t, err)
		alice := verificationtest.CreateSubject(t, svc)
		owner := verification.OwnerKey(alice.ID)
		_, err = s.Blobs().Put(t.Context(), owner, bytes.NewReader([]byte("stray")), 0)
		require.NoError(t, err)
		require.NoError(t, s.DataKeys().PutDataKey(t.Context(), owner, documents.WrappedKey{MasterKeyID: "m", Ciphertext: []byte("c")}))

		require.NoError(t, svc.Erase(t.Context(), verification.HostActor(), alice.ID))
		require.Zero(t, count(t, s, "blobs", owner), "Erase deleted the rows through the store's transaction")
		require.Zero(t, count(t, s, "data_keys", owner))
	})
}
