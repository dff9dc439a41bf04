package verification

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/openkyc/kyc/documents"
)

// Operator runs
//
// The maintenance jobs are the system's own periodic work: a Runner's Run
// and RunOnce write no entry naming anyone (a job that deletes images still
// writes its own, e.g. AuditRetentionRun as the system). When a person
// starts that work by hand (the openkyc command's applications expire and
// maintenance run), ExpireDueAs and Runner.RunAs do the same work and then
// write exactly one entry naming that person as a host actor, with the
// run's counts, in a transaction of its own whose last (and only) write it
// is: the work is done in many short transactions, so the entry follows
// them and records what they did, also after a failure part way.

// The same holds for a master key rotation (RewrapKeys): one entry naming
// the operator after the data keys are rewrapped.

// operators may start the system's periodic work by hand: the host's own
// tooling, whose Actor.ID names the person (e.g. openkyc --operator).
var operators = []ActorKind{ActorHost}

// checkOperator checks that actor is a host actor naming its operator.
func checkOperator(op string, actor Actor) error {
	if err := actor.may(op, operators...); err != nil {
		return err
	}
	if strings.TrimSpace(actor.ID) == "" {
		return invalid("actor", "%s: the host actor's ID must name the operator", op)
	}
	return nil
}

// ExpireDueAs is ExpireDue started by actor, a host actor naming the
// operator: it expires every open application past its TTL and then writes
// one AuditApplicationsExpire entry with the count, also when the expiry
// failed part way (the entry then counts what was expired and says
// complete "false"; the expiry's error is returned).
func (s *Service) ExpireDueAs(ctx context.Context, actor Actor) (int, error) {
	if err := checkOperator("ExpireDueAs", actor); err != nil {
		return 0, s.fail("ExpireDueAs", err)
	}
	n, runErr := s.ExpireDue(ctx)
	summary := map[string]string{"expired": itoa(n), "complete": strconv.FormatBool(runErr == nil)}
	err := s.inTx(ctx, "ExpireDueAs", func(ctx context.Context, tx Store) error {
		return s.audit(ctx, tx, actor, auditArgs{action: AuditApplicationsExpire, entity: AuditEntityMaintenance,
			entityID: JobApplicationExpiry, summary: summary})
	})
	if runErr != nil {
		return n, runErr
	}
	return n, err
}

// RunAs runs the named jobs once (every job, in run order, when names is
// empty), one after the other as RunOnce does, for actor, a host actor
// naming the operator, and then writes one AuditMaintenanceRun entry: its
// summary holds jobs (the names run, comma-separated), failed (how many
// failed) and each job's counts under "JOB.KEY" (e.g.
// "retention.purged"). An unknown name is ErrNotFound, checked before any
// job runs. Reports come back in the order run; a failed job does not stop
// the others, and its error is in its report; RunAs's error is the entry's
// (a cancelled ctx stops the run after the job in progress and, the
// transaction needing ctx, leaves the run unrecorded).
func (r *Runner) RunAs(ctx context.Context, actor Actor, names ...string) ([]JobReport, error) {
	s := r.svc
	if err := checkOperator("RunAs", actor); err != nil {
		return nil, s.fail("RunAs", err)
	}
	jobs := r.jobs
	if len(names) > 0 {
		jobs = make([]Job, 0, len(names))
		for _, name := range names {
			i := slices.IndexFunc(r.jobs, func(j Job) bool { return j.Name == name })
			if i < 0 {
				return nil, newErr(ErrNotFound, "no maintenance job %q", name)
			}
			jobs = append(jobs, r.jobs[i])
		}
	}
	reports := make([]JobReport, 0, len(jobs))
	for _, j := range jobs {
		if ctx.Err() != nil {
			break
		}
		reports = append(reports, r.run(ctx, j))
	}
	ran := make([]string, 0, len(reports))
	failed := 0
	summary := map[string]string{}
	for _, rep := range reports {
		ran = append(ran, rep.Job)
		if rep.Err != nil {
			failed++
		}
		for k, n := range rep.Counts {
			summary[rep.Job+"."+k] = itoa(n)
		}
	}
	summary["jobs"], summary["failed"] = strings.Join(ran, ","), itoa(failed)
	err := s.inTx(ctx, "RunAs", func(ctx context.Context, tx Store) error {
		return s.audit(ctx, tx, actor, auditArgs{action: AuditMaintenanceRun, entity: AuditEntityMaintenance, summary: summary})
	})
	return reports, err
}

// RewrapKeys rewraps every subject's data key with the current master key
// of the Service's documents.SealedStore (Options.Blobs; any other
// BlobStore is ErrInvalid), through documents.SealedStore.RewrapAll, for
// actor, a host actor naming the operator, and then writes one
// AuditKeysRewrapped entry with the counts, also when the walk failed part
// way (complete "false"; the walk's error is returned, and a new run
// resumes). Run it after deploying a new current master key everywhere;
// once it reports the run complete, the old keys can be dropped.
//
// A subject erased while the walk runs could get its data key written back
// by the rewrap (the erasure deleted it between the read and the write):
// after each rewrap, RewrapKeys reads the subject and, if it is erased
// (RedactedAt set) or gone, erases the key again (summary reerased). An
// erasure commits the subject's redaction before it deletes the key, so
// either the erasure's delete comes after the rewrap's write, or this
// check sees the redaction.
func (s *Service) RewrapKeys(ctx context.Context, actor Actor) (documents.RewrapReport, error) {
	if err := checkOperator("RewrapKeys", actor); err != nil {
		return documents.RewrapReport{}, s.fail("RewrapKeys", err)
	}
	sealed, ok := s.blobs.(*documents.SealedStore)
	if !ok {
		return documents.RewrapReport{}, s.fail("RewrapKeys", invalid("Blobs", "the documents are not sealed (Options.Blobs is not a documents.SealedStore): no data key to rewrap"))
	}
	reerased := 0
	rep, runErr := sealed.RewrapAll(ctx, func(ctx context.Context, owner string) error {
		id, ok := ownerSubject(owner)
		if !ok {
			return nil // not a subject's key
		}
		sub, err := s.store.GetSubject(ctx, id)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return err
		case sub.RedactedAt.IsZero():
			return nil
		}
		reerased++
		return sealed.EraseOwner(ctx, owner)
	})
	summary := map[string]string{"rewrapped": itoa(rep.Rewrapped), "current": itoa(rep.Current), "reerased": itoa(reerased),
		"complete": strconv.FormatBool(runErr == nil)}
	err := s.inTx(ctx, "RewrapKeys", func(ctx context.Context, tx Store) error {
		return s.audit(ctx, tx, actor, auditArgs{action: AuditKeysRewrapped, entity: AuditEntityKeyring, entityID: rep.CurrentKeyID, summary: summary})
	})
	if errors.Is(runErr, documents.ErrUnknownMasterKey) {
		runErr = invalid("Blobs", "a data key is wrapped by a master key the keyring does not hold: keep every old key in the list until a rewrap completes")
	}
	if runErr != nil {
		return rep, s.fail("RewrapKeys", runErr)
	}
	return rep, s.fail("RewrapKeys", err)
}

// ownerSubject returns the subject whose OwnerKey owner is.
func ownerSubject(owner string) (int64, bool) {
	digits, ok := strings.CutPrefix(owner, "s")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || id <= 0 || owner != OwnerKey(id) {
		return 0, false
	}
	return id, true
}
