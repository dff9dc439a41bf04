package verification_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// TestEraseRemovesIdentifierAndFreeText: after Erase the store holds the
// keyed digest instead of the identifier and no reviewer's or admin's
// reason (the Service's own reasons stay), the subject refuses writes and
// the identifier onboards again.
func TestEraseRemovesIdentifierAndFreeText(t *testing.T) {
	t.Parallel()
	svc, _ := verificationtest.NewService(t, verificationtest.SeedLadder(t), verification.Options{IdentifierKey: []byte("k1")})
	pd := verificationtest.SeedPersonalData(t, svc)
	require.NoError(t, svc.Erase(t.Context(), verification.SystemActor(), pd.Subject.ID))

	st := verificationtest.StoreOf(svc)
	sub, err := st.GetSubject(t.Context(), pd.Subject.ID)
	require.NoError(t, err)
	assert.Equal(t, svc.ErasedIdentifier(pd.Identifier), sub.Identifier)
	reviews, err := st.ListReviews(t.Context(), sub.ID)
	require.NoError(t, err)
	require.NotEmpty(t, reviews)
	for _, r := range reviews {
		assert.Empty(t, r.Reason, "review %d", r.ID)
	}
	grants, err := st.ListGrants(t.Context(), verification.GrantFilter{SubjectID: sub.ID, Limit: 10})
	require.NoError(t, err)
	reasons := []string{}
	for _, g := range grants.Items {
		reasons = append(reasons, g.Reason)
	}
	assert.Equal(t, []string{verification.ReasonCreated, ""}, reasons, "the admin's reason is blanked, the Service's own stays")
	evs, err := st.ListEvents(t.Context(), verification.EventFilter{SubjectID: sub.ID})
	require.NoError(t, err)
	for _, e := range evs {
		for _, text := range append([]string{pd.Identifier}, pd.FreeText...) {
			assert.NotContains(t, string(e.Data), text, "event %s", e.Type)
		}
		assert.True(t, json.Valid(e.Data))
	}
	verificationtest.CheckErased(t, svc, pd)
	require.NoError(t, svc.Erase(t.Context(), verification.SystemActor(), pd.Subject.ID), "Erase may be repeated")
	again, err := st.GetSubject(t.Context(), pd.Subject.ID)
	require.NoError(t, err)
	assert.Equal(t, sub.Identifier, again.Identifier, "a repeated erasure keeps the digest of the identifier")
}

// TestErasedIdentifier: the digest is keyed (stable under one key,
// different under another), a valid identifier, and never the identifier.
func TestErasedIdentifier(t *testing.T) {
	t.Parallel()
	const id = "linkableidentifier0000000000000000000001"
	a, _ := verificationtest.NewService(t, verificationtest.SeedLadder(t), verification.Options{IdentifierKey: []byte("k1")})
	b, _ := verificationtest.NewService(t, verificationtest.SeedLadder(t), verification.Options{IdentifierKey: []byte("k1")})
	c, _ := verificationtest.NewService(t, verificationtest.SeedLadder(t), verification.Options{IdentifierKey: []byte("k2")})
	d, _ := verificationtest.NewService(t, verificationtest.SeedLadder(t))
	assert.Equal(t, a.ErasedIdentifier(id), b.ErasedIdentifier(id), "one key, one digest: replicas agree")
	assert.NotEqual(t, a.ErasedIdentifier(id), c.ErasedIdentifier(id))
	assert.NotEqual(t, a.ErasedIdentifier(id), d.ErasedIdentifier(id), "no key: a random one")
	assert.True(t, verification.ValidIdentifier(a.ErasedIdentifier(id)))
	assert.NotContains(t, a.ErasedIdentifier(id), id)
	assert.True(t, strings.HasPrefix(a.ErasedIdentifier(id), "erased"))
}
