package verification_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// TestOperatorRunsRecordTheOperator: ExpireDueAs and Runner.RunAs do the
// system's work and write one entry naming the operator with the counts;
// refused calls (another actor kind, an unknown job) do nothing and write
// nothing; a failing job is counted.
func TestOperatorRunsRecordTheOperator(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	b := docSetup(t, verification.Options{ApplicationTTL: day})
	ctx := b.ctx
	operator := verification.Actor{Kind: verification.ActorHost, ID: "alice"}
	last := func(t *testing.T) verification.AuditEntry {
		t.Helper()
		log := auditLog(t, b.svc)
		require.NotEmpty(t, log)
		return log[len(log)-1]
	}

	for _, actor := range []verification.Actor{verification.SystemActor(), verification.AdminActor(1, nil), verification.UserActor(1)} {
		n := len(auditLog(t, b.svc))
		_, err := b.svc.ExpireDueAs(ctx, actor)
		require.ErrorIs(t, err, verification.ErrForbidden, actor.Kind)
		r, err := b.svc.Maintenance(verification.MaintenanceOptions{})
		require.NoError(t, err)
		_, err = r.RunAs(ctx, actor)
		require.ErrorIs(t, err, verification.ErrForbidden, actor.Kind)
		require.Len(t, auditLog(t, b.svc), n, "%s: a refused run writes nothing", actor.Kind)
	}
	_, err := b.svc.ExpireDueAs(ctx, verification.HostActor())
	require.ErrorIs(t, err, verification.ErrInvalid, "the host actor must name the operator")

	applicant := verificationtest.CreateSubject(t, b.svc)
	b.submitLevel1(t, applicant.ID)
	b.clock.Advance(2 * day)
	n, err := b.svc.ExpireDueAs(ctx, operator)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	e := last(t)
	assert.Equal(t, verification.AuditApplicationsExpire, e.Action)
	assert.Equal(t, verification.Actor{Kind: verification.ActorHost, ID: "alice"}, e.Actor)
	assert.Equal(t, map[string]string{"expired": "1", "complete": "true"}, e.Summary)

	r, err := b.svc.Maintenance(verification.MaintenanceOptions{Jobs: []verification.Job{{
		Name: "broken", Interval: time.Hour,
		Run: func(context.Context) (verification.JobResult, error) {
			return verification.JobResult{}, errors.New("down")
		},
	}}})
	require.NoError(t, err)
	before := len(auditLog(t, b.svc))
	_, err = r.RunAs(ctx, operator, verification.JobDeletionSweep, "nope")
	require.ErrorIs(t, err, verification.ErrNotFound)
	require.Len(t, auditLog(t, b.svc), before, "an unknown job runs nothing and writes nothing")

	reps, err := r.RunAs(ctx, operator, "broken", verification.JobDeletionSweep)
	require.NoError(t, err)
	require.Len(t, reps, 2)
	assert.Error(t, reps[0].Err)
	require.Len(t, auditLog(t, b.svc), before+1, "one entry per run")
	e = last(t)
	assert.Equal(t, verification.AuditMaintenanceRun, e.Action)
	assert.Equal(t, "alice", e.Actor.ID)
	assert.Equal(t, map[string]string{"jobs": "broken,deletion-sweep", "failed": "1", "deletion-sweep.deleted": "0"}, e.Summary)

	reps, err = r.RunAs(ctx, operator)
	require.NoError(t, err)
	assert.Len(t, reps, len(r.Jobs()), "no names: every job")
	head, err := b.svc.VerifyAudit(ctx)
	require.NoError(t, err)
	assert.Equal(t, last(t).Seq, head.Seq)
}

// TestRewrapKeys: after a rotation, RewrapKeys moves every subject's data
// key to the new master key and writes one entry naming the operator; a
// key an erasure deleted while the walk ran (written back by the rewrap) is
// erased again; without sealed documents it is ErrInvalid.
func TestRewrapKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files, err := documents.NewFileStore(dir)
	require.NoError(t, err)
	k1, err := documents.GenerateMasterKey("k1")
	require.NoError(t, err)
	k2, err := documents.GenerateMasterKey("k2")
	require.NoError(t, err)
	keys := documents.NewMemoryKeyStore()
	sealedWith := func(ring ...documents.MasterKey) *documents.SealedStore {
		kr, err := documents.KeyringOf(ring)
		require.NoError(t, err)
		s, err := documents.NewSealedStore(files, kr, keys)
		require.NoError(t, err)
		return s
	}
	ladder := verificationtest.SeedLadder(t)
	before, _ := verificationtest.NewService(t, ladder, verification.Options{Blobs: sealedWith(k1)})
	ctx := context.Background()
	kept, erased := verificationtest.CreateSubject(t, before), verificationtest.CreateSubject(t, before)
	f := verificationtest.Upload(t, before, kept.ID, "passport", "front")
	verificationtest.Upload(t, before, erased.ID, "passport", "front")
	stale, err := keys.GetDataKey(ctx, verification.OwnerKey(erased.ID))
	require.NoError(t, err)
	require.NoError(t, before.Erase(ctx, verification.HostActor(), erased.ID))
	// The race RewrapKeys guards against: the erased key written back.
	require.NoError(t, keys.PutDataKey(ctx, verification.OwnerKey(erased.ID), stale))

	st := verificationtest.StoreOf(before)
	after, _ := verificationtest.NewServiceOn(t, ladder, st, verification.Options{Blobs: sealedWith(k1, k2)})
	operator := verification.Actor{Kind: verification.ActorHost, ID: "alice"}
	_, err = after.RewrapKeys(ctx, verification.AdminActor(1, nil))
	require.ErrorIs(t, err, verification.ErrForbidden)
	rep, err := after.RewrapKeys(ctx, operator)
	require.NoError(t, err)
	assert.Equal(t, documents.RewrapReport{Rewrapped: 2, CurrentKeyID: "k2"}, rep)
	log := auditLog(t, after)
	e := log[len(log)-1]
	assert.Equal(t, verification.AuditKeysRewrapped, e.Action)
	assert.Equal(t, operator, e.Actor)
	assert.Equal(t, verification.AuditEntityKeyring, e.Entity)
	assert.Equal(t, "k2", e.EntityID)
	assert.Equal(t, map[string]string{"rewrapped": "2", "current": "0", "reerased": "1", "complete": "true"}, e.Summary)
	_, err = keys.GetDataKey(ctx, verification.OwnerKey(erased.ID))
	require.ErrorIs(t, err, documents.ErrKeyNotFound, "the erased subject's key is erased again")

	// The old key can go: the kept subject's document still opens.
	only, _ := verificationtest.NewServiceOn(t, ladder, st, verification.Options{Blobs: sealedWith(k2)})
	_, rc, err := only.OpenFile(ctx, verification.HostActor(), f.ID)
	require.NoError(t, err)
	_, err = io.Copy(io.Discard, rc)
	require.NoError(t, err)
	require.NoError(t, rc.Close())

	plain := setup(t)
	_, err = plain.svc.RewrapKeys(ctx, operator)
	require.ErrorIs(t, err, verification.ErrInvalid)
}
