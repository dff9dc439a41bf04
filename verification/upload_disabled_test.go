package verification_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// TestUploadNamesDisabledTypes: a type the ladder declares but disables is
// refused as disabled, not as unknown, so a host can tell a retired type
// from a typo.
func TestUploadNamesDisabledTypes(t *testing.T) {
	t.Parallel()
	svc, _ := verificationtest.NewService(t, twoDocumentLadder(t))
	sub := verificationtest.CreateSubject(t, svc)
	for _, tc := range []struct {
		docType, want string
	}{
		{"oldCard", `document type "oldCard" is disabled`},
		{"visa", `unknown document type "visa"`},
	} {
		_, err := svc.Upload(context.Background(), verification.UploadParams{
			SubjectID: sub.ID, DocumentType: tc.docType, Side: "front", Body: bytes.NewReader(verificationtest.JPEG(1024)),
		})
		require.ErrorIs(t, err, verification.ErrInvalid, tc.docType)
		require.ErrorContains(t, err, tc.want)
	}
}
