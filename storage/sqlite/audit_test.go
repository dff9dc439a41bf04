package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/storage/sqlite"
	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// TestVerifyAuditNamesTheEditedEntry writes a chain of ten entries through
// the Service, changes the stored trail with raw SQL (past the triggers
// that refuse it) and checks that VerifyAudit names the entry.
func TestVerifyAuditNamesTheEditedEntry(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		edit func(t *testing.T, store *sqlite.Store, raw func(string, ...any))
		want int64
	}{
		{"summary edited", func(t *testing.T, _ *sqlite.Store, raw func(string, ...any)) {
			raw(`DROP TRIGGER audit_no_update`)
			raw(`UPDATE audit SET summary = '{"hold":"false"}' WHERE seq = 5`)
		}, 5},
		{"actor edited and rehashed", func(t *testing.T, store *sqlite.Store, raw func(string, ...any)) {
			var e verification.AuditEntry
			require.NoError(t, store.ScanAudit(t.Context(), verification.AuditFilter{AfterSeq: 4, Limit: 1}, func(x verification.AuditEntry) error { e = x; return nil }))
			e.Actor.ID = "99"
			raw(`DROP TRIGGER audit_no_update`)
			raw(`UPDATE audit SET actor_id = ?, hash = ? WHERE seq = 5`, e.Actor.ID, e.ComputeHash())
		}, 6},
		{"entry deleted", func(t *testing.T, _ *sqlite.Store, raw func(string, ...any)) {
			raw(`DROP TRIGGER audit_no_delete`)
			raw(`DELETE FROM audit WHERE seq = 5`)
		}, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "kyc.db")
			store, err := sqlite.Open(t.Context(), path, sqlite.Options{})
			require.NoError(t, err)
			t.Cleanup(func() { _ = store.Close() })
			svc, _ := verificationtest.NewServiceOn(t, verificationtest.SeedLadder(t), store)
			sub := verificationtest.CreateSubject(t, svc)
			admin := verification.AdminActor(7, nil)
			for i := range 10 {
				_, err := svc.SetLegalHold(t.Context(), admin, sub.ID, i%2 == 0)
				require.NoError(t, err)
			}
			head, err := svc.VerifyAudit(t.Context())
			require.NoError(t, err)
			require.Equal(t, int64(10), head.Seq)

			db := openRaw(t, path)
			_, err = db.Exec(`UPDATE audit SET summary = '{}' WHERE seq = 5`)
			require.ErrorContains(t, err, "append-only", "the trail refuses updates")
			_, err = db.Exec(`DELETE FROM audit WHERE seq = 5`)
			require.ErrorContains(t, err, "append-only", "the trail refuses deletes")
			tc.edit(t, store, func(q string, args ...any) {
				_, err := db.ExecContext(context.Background(), q, args...)
				require.NoError(t, err, q)
			})
			verificationtest.RequireAuditBreak(t, svc, tc.want)
		})
	}
}
