package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// TestAuditChainLinearAcrossTwoPools runs admin acts (legal holds and
// manual grants) from 16 goroutines on two Services, each over a Store with
// a pool of its own (two replicas), on 16 subjects: the appends contend for
// the chain's head (and the grants for the grant counter). Every act
// must succeed, the trail must hold one entry per act, and VerifyAudit must
// pass: the head never forked.
func TestAuditChainLinearAcrossTwoPools(t *testing.T) {
	t.Parallel()
	const workers, perWorker = 16, 40
	schema := newSchema(t)
	ladder := verificationtest.SeedLadder(t)
	var svcs []*verification.Service
	for range 2 {
		svc, err := verification.New(ladder, openOwnPool(t, schema), verification.Options{})
		require.NoError(t, err)
		svcs = append(svcs, svc)
	}
	ctx := ctxTimeout(t)
	subs := make([]verification.Subject, workers)
	for i := range subs {
		subs[i] = verificationtest.CreateSubject(t, svcs[0])
	}
	errs := make(chan error, workers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		svc := svcs[w%2]
		wg.Go(func() {
			<-start
			admin := verification.AdminActor(int64(w+1), nil)
			for i := range perWorker {
				// Holds touch the subject; grants also take the global
				// grant counter, so a wrong lock order against the chain's
				// head would deadlock here.
				var err error
				if i%2 == 0 {
					_, err = svc.SetLegalHold(ctx, admin, subs[w].ID, i%4 == 0)
				} else {
					_, err = svc.GrantLevel(ctx, admin, verification.GrantLevelParams{SubjectID: subs[w].ID, Level: 2 + i%4/2, Reason: "load"})
				}
				if err != nil {
					errs <- fmt.Errorf("worker %d act %d: %w", w, i, err)
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	head, err := svcs[1].VerifyAudit(ctx)
	require.NoError(t, err, "the chain written by two pools must verify")
	require.Equal(t, int64(workers*perWorker), head.Seq, "one entry per act")
	for w := range workers {
		n := 0
		require.NoError(t, svcs[0].ExportAudit(ctx, verification.AdminActor(1, nil), verification.AuditFilter{ActorKind: verification.ActorAdmin, ActorID: fmt.Sprint(w + 1)}, func(e verification.AuditEntry) error {
			if e.SubjectID != subs[w].ID || e.Action != verification.AuditSubjectHold && e.Action != verification.AuditGrantManual {
				return fmt.Errorf("entry %d of admin %d is about subject %d (%s)", e.Seq, w+1, e.SubjectID, e.Action)
			}
			n++
			return nil
		}))
		require.Equal(t, perWorker, n, "admin %d's entries", w+1)
	}
}

// TestVerifyAuditNamesTheEditedEntry changes a stored chain of ten entries
// with raw SQL (past the triggers that refuse it) and checks that
// VerifyAudit names the entry.
func TestVerifyAuditNamesTheEditedEntry(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		edit func(t *testing.T, s *Store)
		want int64
	}{
		{"summary edited", func(t *testing.T, s *Store) {
			exec(t, s, `ALTER TABLE {{schema}}.audit DISABLE TRIGGER audit_no_change`)
			exec(t, s, `UPDATE {{schema}}.audit SET summary = '{"hold":"false"}' WHERE seq = 5`)
		}, 5},
		{"actor edited and rehashed", func(t *testing.T, s *Store) {
			var e verification.AuditEntry
			require.NoError(t, s.ScanAudit(t.Context(), verification.AuditFilter{AfterSeq: 4, Limit: 1}, func(x verification.AuditEntry) error { e = x; return nil }))
			e.Actor.ID = "99"
			exec(t, s, `ALTER TABLE {{schema}}.audit DISABLE TRIGGER audit_no_change`)
			exec(t, s, `UPDATE {{schema}}.audit SET actor_id = $1, hash = $2 WHERE seq = 5`, e.Actor.ID, e.ComputeHash())
		}, 6},
		{"entry deleted", func(t *testing.T, s *Store) {
			exec(t, s, `ALTER TABLE {{schema}}.audit DISABLE TRIGGER audit_no_change`)
			exec(t, s, `DELETE FROM {{schema}}.audit WHERE seq = 5`)
		}, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := openStore(t)
			svc, _ := verificationtest.NewServiceOn(t, verificationtest.SeedLadder(t), s)
			sub := verificationtest.CreateSubject(t, svc)
			admin := verification.AdminActor(7, nil)
			for i := range 10 {
				_, err := svc.SetLegalHold(t.Context(), admin, sub.ID, i%2 == 0)
				require.NoError(t, err)
			}
			head, err := svc.VerifyAudit(t.Context())
			require.NoError(t, err)
			require.Equal(t, int64(10), head.Seq)
			for _, q := range []string{`UPDATE {{schema}}.audit SET summary = '{}' WHERE seq = 5`, `DELETE FROM {{schema}}.audit WHERE seq = 5`, `TRUNCATE {{schema}}.audit`} {
				_, err := s.db.pool.Exec(context.Background(), s.sql(q))
				require.ErrorContains(t, err, "append-only", "the trail refuses %s", q)
			}
			tc.edit(t, s)
			verificationtest.RequireAuditBreak(t, svc, tc.want)
		})
	}
}
