package storagetest

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// DocumentStore is a store that keeps document bytes and data keys itself
// and implements verification.DocumentEraser, as the SQL stores do.
type DocumentStore struct {
	// Store is the store under test.
	Store verification.Store
	// Blobs and Keys are the store's own blob and data-key stores.
	Blobs documents.BlobStore
	// Keys is the store's own data-key store.
	Keys documents.KeyStore
	// Sealed seals Blobs with Keys (documents.NewSealedStore).
	Sealed documents.BlobStore
	// Count returns how many rows of owner the store holds in table
	// ("blobs" or "data_keys"), read behind the store's back.
	Count func(t *testing.T, table, owner string) int
}

// RunDocumentErasure checks that Service.Erase deletes a subject's bytes
// and data key through the store's transaction (verification.DocumentEraser):
// with sealed blobs in the store, the subject's rows go and another
// subject's stay; with bytes in the store that Options.Blobs does not know
// about, only the transaction's EraseDocuments can have deleted them.
func RunDocumentErasure(t *testing.T, open func(t *testing.T) DocumentStore) {
	t.Run("sealed blobs and keys in the store", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		clock := verificationtest.NewClock(verificationtest.Start)
		svc, err := verification.New(verificationtest.SeedLadder(t), s.Store, verification.Options{Blobs: s.Sealed, NowFunc: clock.Now})
		require.NoError(t, err)
		alice := verificationtest.CreateSubject(t, svc)
		bob := verificationtest.CreateSubject(t, svc)
		verificationtest.Upload(t, svc, alice.ID, "passport", "front")
		verificationtest.Upload(t, svc, alice.ID, "passport", "back")
		bobFile := verificationtest.Upload(t, svc, bob.ID, "passport", "front")
		a, b := verification.OwnerKey(alice.ID), verification.OwnerKey(bob.ID)
		require.Equal(t, 2, s.Count(t, "blobs", a))
		require.Equal(t, 1, s.Count(t, "data_keys", a))

		require.NoError(t, svc.Erase(t.Context(), verification.HostActor(), alice.ID))
		require.Zero(t, s.Count(t, "blobs", a), "the erased subject's blobs are gone")
		require.Zero(t, s.Count(t, "data_keys", a), "the erased subject's data key is gone")
		require.Equal(t, 1, s.Count(t, "blobs", b), "the other subject keeps its blob")
		require.Equal(t, 1, s.Count(t, "data_keys", b))
		_, rc, err := svc.OpenFile(t.Context(), verification.HostActor(), bobFile.ID)
		require.NoError(t, err, "the other subject's file still reads")
		require.NoError(t, rc.Close())
	})

	t.Run("bytes Options.Blobs does not know", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		files, err := documents.NewFileStore(t.TempDir())
		require.NoError(t, err)
		svc, err := verification.New(verificationtest.SeedLadder(t), s.Store, verification.Options{Blobs: files})
		require.NoError(t, err)
		alice := verificationtest.CreateSubject(t, svc)
		owner := verification.OwnerKey(alice.ID)
		_, err = s.Blobs.Put(t.Context(), owner, bytes.NewReader([]byte("stray")), 0)
		require.NoError(t, err)
		require.NoError(t, s.Keys.PutDataKey(t.Context(), owner, documents.WrappedKey{MasterKeyID: "m", Ciphertext: []byte("c")}))

		require.NoError(t, svc.Erase(t.Context(), verification.HostActor(), alice.ID))
		require.Zero(t, s.Count(t, "blobs", owner), "Erase deleted the rows through the store's transaction")
		require.Zero(t, s.Count(t, "data_keys", owner))
	})
}
