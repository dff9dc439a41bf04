package verification

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/openkyc/kyc/levels"
)

// Job is one periodic maintenance task of a Runner. The built-in jobs
// (DefaultJobs) keep the Service's promises over time; a host adds its own
// (requirement expiry, re-screening, exports) through
// MaintenanceOptions.Jobs, built the same way:
//
//	verification.Job{
//		Name:     "rescreening",
//		Interval: 24 * time.Hour,
//		Run: func(ctx context.Context) (verification.JobResult, error) {
//			n, err := rescreenDue(ctx)
//			return verification.JobResult{Counts: map[string]int{"rescreened": n}}, err
//		},
//	}
//
// Run must honour ctx (the runner cancels it on shutdown), be safe to run
// again after a failure or a crash (each run picks up what is due), and be
// safe to run on several replicas at once, as the built-in jobs are: they
// work in short transactions under the subject's lock, or skip rows
// another replica holds. A Runner never overlaps two runs of one job.
type Job struct {
	// Name identifies the job in reports and logs; unique in a Runner.
	Name string
	// Interval is the time between the end of one run and the start of
	// the next; positive.
	Interval time.Duration
	// Run does one pass of the job and says what it did.
	Run func(ctx context.Context) (JobResult, error)
	// DueFunc, when set, counts the work Run would do now, with the keys
	// Run reports, and changes nothing (Runner.DryRun calls it). Nil when
	// the job cannot tell without doing the work: a dry run then says the
	// job would run and that its work was not counted.
	DueFunc func(ctx context.Context) (JobResult, error)
}

// JobDue is what a dry run found for one job.
type JobDue struct {
	// Job is the job's Name.
	Job string
	// Counted reports whether the job has a DueFunc; false means the job
	// would run but its due work is unknown, and Counts is nil.
	Counted bool
	// Counts is the DueFunc's JobResult.Counts: what a run now would do.
	Counts map[string]int
	// Err is the DueFunc's error, nil on success.
	Err error
}

// JobResult is what one run of a job did.
type JobResult struct {
	// Counts names what the run did, e.g. {"purged": 2, "held": 1}.
	Counts map[string]int
}

// JobReport is the outcome of one run of a job.
type JobReport struct {
	// Job is the job's Name.
	Job string
	// Counts is the run's JobResult.Counts.
	Counts map[string]int
	// Err is the run's error, nil on success. A failed run is retried at
	// the job's next interval.
	Err error
	// Started is when the run started (the Service's clock).
	Started time.Time
	// Duration is how long the run took (wall time).
	Duration time.Duration
}

// The built-in jobs' names, in the order RunOnce runs them.
const (
	JobApplicationExpiry  = "application-expiry"
	JobRetention          = "retention"
	JobUploadExpiry       = "upload-expiry"
	JobOrphanSweep        = "orphan-sweep"
	JobDeletionSweep      = "deletion-sweep"
	JobIdempotencyPruning = "idempotency-pruning"
	JobOutboxPruning      = "outbox-pruning"
	// JobRequirementExpiry runs ExpireRequirements; registered when the
	// ladder has a requirement that expires (validFor, useDocumentExpiry).
	JobRequirementExpiry = "requirement-expiry"
	// JobScreening runs RunScreening; registered when Options.Screener is
	// set.
	JobScreening = "screening"
)

// Default intervals and limits of the built-in jobs.
const (
	DefaultApplicationExpiryInterval  = time.Minute
	DefaultRetentionInterval          = time.Hour
	DefaultUploadExpiryInterval       = 15 * time.Minute
	DefaultOrphanSweepInterval        = time.Hour
	DefaultDeletionSweepInterval      = 5 * time.Minute
	DefaultIdempotencyPruningInterval = time.Hour
	DefaultOutboxPruningInterval      = time.Hour
	DefaultRequirementExpiryInterval  = time.Hour
	DefaultScreeningInterval          = 15 * time.Minute
	// DefaultDeliveredRetention is how long a delivered outbox delivery
	// is kept (the events themselves are never pruned: they are the audit
	// trail).
	DefaultDeliveredRetention = 7 * 24 * time.Hour
	// pruneBatch is how many rows a pruning job deletes per statement.
	pruneBatch = 1000
)

// MaintenanceOptions configure Service.Maintenance. The zero value runs
// every built-in job at its default interval.
type MaintenanceOptions struct {
	// ApplicationExpiry is the interval of the application-expiry job.
	// For every interval below, 0 means the default (the Default...Interval
	// constants) and negative disables the job.
	ApplicationExpiry time.Duration
	// Retention is the interval of the retention job.
	Retention time.Duration
	// UploadExpiry is the interval of the upload-expiry job.
	UploadExpiry time.Duration
	// OrphanSweep is the interval of the orphan-sweep job.
	OrphanSweep time.Duration
	// DeletionSweep is the interval of the deletion-sweep job.
	DeletionSweep time.Duration
	// IdempotencyPruning is the interval of the idempotency-pruning job.
	IdempotencyPruning time.Duration
	// OutboxPruning is the interval of the outbox-pruning job.
	OutboxPruning time.Duration
	// RequirementExpiry is the interval of the requirement-expiry job (run
	// only when the ladder has requirements that expire).
	RequirementExpiry time.Duration
	// Screening is the interval of the screening job (run only with a
	// Screener).
	Screening time.Duration
	// OrphanGrace is SweepOrphansParams.Grace; 0 means DefaultOrphanGrace.
	OrphanGrace time.Duration
	// DeliveredRetention is how long delivered deliveries are kept before
	// the outbox pruning deletes them; 0 means DefaultDeliveredRetention.
	DeliveredRetention time.Duration
	// Jobs are the host's own jobs, run after the built-in ones.
	Jobs []Job
	// OnReportFunc, when set, receives the report of every run (for
	// metrics); it must not block. Failed runs are also logged at Error,
	// runs that did something at Info.
	OnReportFunc func(JobReport)
}

// Runner runs the maintenance jobs: RunOnce for one pass (the operator
// CLI, a cron job), Run to keep running them, each on its own interval,
// until its context is cancelled. Create it with Service.Maintenance.
type Runner struct {
	svc      *Service
	jobs     []Job
	onReport func(JobReport)
}

// Maintenance returns the Runner of the Service's periodic work:
//
//   - application-expiry (every minute): ExpireDue, open applications
//     past their TTL;
//   - retention (hourly): ApplyRetention, images past
//     Options.ImageRetention (nothing without it), legal holds respected;
//   - upload-expiry (every 15 minutes): ExpireUploads, unsubmitted uploads
//     older than Options.UploadTTL;
//   - orphan-sweep (hourly): SweepOrphans, blobs and temporary files no
//     record points to, older than OrphanGrace;
//   - deletion-sweep (every 5 minutes): SweepDeletions, bytes whose
//     deletion was committed but not finished (a crash, a failing store);
//   - idempotency-pruning (hourly): expired Idempotency-Key records;
//   - outbox-pruning (hourly): deliveries delivered more than
//     DeliveredRetention (7 days) ago;
//   - requirement-expiry (hourly, when a requirement of the ladder
//     expires): ExpireRequirements, approvals past their ValidUntil and
//     those entering their warning window;
//   - screening (every 15 minutes, when Options.Screener is set):
//     RunScreening, queued first screens, re-screens due by interval, and
//     every approved screening after the list version changed.
//
// then opts.Jobs. Every job is safe on several replicas at once.
func (s *Service) Maintenance(opts MaintenanceOptions) (*Runner, error) {
	if opts.OrphanGrace < 0 {
		return nil, invalid("OrphanGrace", "must not be negative")
	}
	if opts.DeliveredRetention < 0 {
		return nil, invalid("DeliveredRetention", "must not be negative")
	}
	keep := opts.DeliveredRetention
	if keep == 0 {
		keep = DefaultDeliveredRetention
	}
	count := func(key string, f func(ctx context.Context) (int, error)) func(context.Context) (JobResult, error) {
		return func(ctx context.Context) (JobResult, error) {
			n, err := f(ctx)
			return JobResult{Counts: map[string]int{key: n}}, err
		}
	}
	builtin := []struct {
		job      Job
		interval time.Duration
		def      time.Duration
	}{
		{Job{Name: JobApplicationExpiry, Run: count("expired", s.ExpireDue), DueFunc: count("expired", s.dueApplications)}, opts.ApplicationExpiry, DefaultApplicationExpiryInterval},
		{Job{Name: JobRetention, Run: func(ctx context.Context) (JobResult, error) {
			rep, err := s.ApplyRetention(ctx)
			return JobResult{Counts: map[string]int{"purged": rep.Purged, "held": rep.Held, "deferred": rep.Deferred}}, err
		}, DueFunc: s.dueRetention}, opts.Retention, DefaultRetentionInterval},
		{Job{Name: JobUploadExpiry, Run: count("expired", s.ExpireUploads), DueFunc: count("expired", s.dueUploads)}, opts.UploadExpiry, DefaultUploadExpiryInterval},
		{Job{Name: JobOrphanSweep, Run: func(ctx context.Context) (JobResult, error) {
			o, err := s.SweepOrphans(ctx, SweepOrphansParams{Grace: opts.OrphanGrace})
			return JobResult{Counts: map[string]int{"blobs": o.Blobs, "temp_files": o.TempFiles}}, err
		}}, opts.OrphanSweep, DefaultOrphanSweepInterval},
		{Job{Name: JobDeletionSweep, Run: count("deleted", s.SweepDeletions), DueFunc: count("deleted", s.dueDeletions)}, opts.DeletionSweep, DefaultDeletionSweepInterval},
		{Job{Name: JobIdempotencyPruning, Run: count("deleted", func(ctx context.Context) (int, error) {
			return drain(ctx, func(ctx context.Context) (int, error) { return s.PurgeIdempotency(ctx, pruneBatch) })
		})}, opts.IdempotencyPruning, DefaultIdempotencyPruningInterval},
		{Job{Name: JobOutboxPruning, Run: count("deleted", func(ctx context.Context) (int, error) {
			return s.PruneDeliveries(ctx, keep)
		})}, opts.OutboxPruning, DefaultOutboxPruningInterval},
	}
	if slices.ContainsFunc(s.ladder.Requirements(), (*levels.Requirement).Expires) {
		builtin = append(builtin, struct {
			job      Job
			interval time.Duration
			def      time.Duration
		}{Job{Name: JobRequirementExpiry, Run: func(ctx context.Context) (JobResult, error) {
			rep, err := s.ExpireRequirements(ctx)
			return JobResult{Counts: map[string]int{"expired": rep.Expired, "warned": rep.Warned, "downgraded": rep.Downgraded}}, err
		}}, opts.RequirementExpiry, DefaultRequirementExpiryInterval})
	}
	if s.screener != nil {
		builtin = append(builtin, struct {
			job      Job
			interval time.Duration
			def      time.Duration
		}{Job{Name: JobScreening, Run: func(ctx context.Context) (JobResult, error) {
			rep, err := s.RunScreening(ctx)
			return JobResult{Counts: map[string]int{"screened": rep.Screened, "cleared": rep.Cleared, "hits": rep.Hits, "failed": rep.Failed}}, err
		}}, opts.Screening, DefaultScreeningInterval})
	}
	r := &Runner{svc: s, onReport: opts.OnReportFunc}
	seen := map[string]bool{}
	add := func(j Job) error {
		switch {
		case j.Name == "" || seen[j.Name]:
			return invalid("Jobs", "job names must be non-empty and unique (%q)", j.Name)
		case j.Interval <= 0:
			return invalid("Jobs", "job %q needs a positive Interval", j.Name)
		case j.Run == nil:
			return invalid("Jobs", "job %q needs a Run func", j.Name)
		}
		seen[j.Name] = true
		r.jobs = append(r.jobs, j)
		return nil
	}
	for _, b := range builtin {
		if b.interval < 0 {
			seen[b.job.Name] = true // disabled, and reserved
			continue
		}
		b.job.Interval = b.interval
		if b.job.Interval == 0 {
			b.job.Interval = b.def
		}
		if err := add(b.job); err != nil {
			return nil, err
		}
	}
	for _, j := range opts.Jobs {
		if err := add(j); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// drain calls f until it deletes less than a batch, and sums its counts.
func drain(ctx context.Context, f func(ctx context.Context) (int, error)) (int, error) {
	total := 0
	for {
		n, err := f(ctx)
		total += n
		if err != nil || n < pruneBatch {
			return total, err
		}
	}
}

// PruneDeliveries deletes the outbox deliveries delivered more than keep
// ago (the Service's clock), in batches, and returns how many it deleted.
// Pending and dead deliveries and the events themselves stay. The
// maintenance runner calls it.
func (s *Service) PruneDeliveries(ctx context.Context, keep time.Duration) (int, error) {
	if keep <= 0 {
		return 0, s.fail("PruneDeliveries", invalid("keep", "must be positive"))
	}
	before := s.Now().Add(-keep)
	n, err := drain(ctx, func(ctx context.Context) (int, error) {
		return s.store.DeleteDelivered(ctx, before, pruneBatch)
	})
	return n, s.fail("PruneDeliveries", err)
}

// dueApplications counts the open applications ExpireDue would expire now
// (those past their ExpiresAt; one decided meanwhile is skipped by the run).
func (s *Service) dueApplications(ctx context.Context) (int, error) {
	page, err := s.store.ListApplications(ctx, ApplicationFilter{
		Statuses: []ApplicationStatus{ApplicationDraft, ApplicationSubmitted}, ExpiresBefore: s.Now().Add(time.Microsecond), Limit: 1,
	})
	return page.Total, s.fail("ExpireDue", err)
}

// dueRetention counts the images ApplyRetention would purge now, and those
// it would keep for a legal hold (deferred, a failure to delete bytes, is
// known only by running: 0).
func (s *Service) dueRetention(ctx context.Context) (JobResult, error) {
	c := map[string]int{"purged": 0, "held": 0, "deferred": 0}
	if s.imageRetention == 0 || s.blobs == nil {
		return JobResult{Counts: c}, nil
	}
	files, err := s.store.ListFiles(ctx, FileFilter{DecidedBefore: s.Now().Add(-s.imageRetention)})
	if err != nil {
		return JobResult{}, s.fail("ApplyRetention", err)
	}
	held := map[int64]bool{}
	for _, f := range files {
		if f.BlobKey == "" {
			continue
		}
		h, ok := held[f.SubjectID]
		if !ok {
			sub, err := s.store.GetSubject(ctx, f.SubjectID)
			if err != nil {
				return JobResult{}, s.fail("ApplyRetention", err)
			}
			h, held[f.SubjectID] = sub.LegalHold, sub.LegalHold
		}
		if h {
			c["held"]++
		} else {
			c["purged"]++
		}
	}
	return JobResult{Counts: c}, nil
}

// dueUploads counts the unsubmitted uploads ExpireUploads would delete now
// (subjects under legal hold keep theirs).
func (s *Service) dueUploads(ctx context.Context) (int, error) {
	if s.blobs == nil {
		return 0, nil
	}
	cutoff, subjects, err := s.uploadSubjects(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range subjects {
		sub, err := s.store.GetSubject(ctx, id)
		if err != nil {
			return 0, s.fail("ExpireUploads", err)
		}
		if sub.LegalHold {
			continue
		}
		old, err := expiredUploads(ctx, s.store, id, cutoff)
		if err != nil {
			return 0, s.fail("ExpireUploads", err)
		}
		n += len(old)
	}
	return n, nil
}

// dueDeletions counts the tombstones SweepDeletions would finish now.
func (s *Service) dueDeletions(ctx context.Context) (int, error) {
	ds, err := s.store.ListBlobDeletions(ctx, BlobDeletionFilter{})
	return len(ds), s.fail("SweepDeletions", err)
}

// Jobs returns the runner's jobs, built-in ones first, in run order.
func (r *Runner) Jobs() []Job { return append([]Job(nil), r.jobs...) }

// RunOnce runs every job once, one after the other, and returns their
// reports in order: a failing job does not stop the others. This is the
// entry point of an operator command or a cron job.
func (r *Runner) RunOnce(ctx context.Context) []JobReport {
	out := make([]JobReport, 0, len(r.jobs))
	for _, j := range r.jobs {
		if ctx.Err() != nil {
			break
		}
		out = append(out, r.run(ctx, j))
	}
	return out
}

// RunJob runs the named job once and returns its report; an unknown name
// is ErrNotFound.
func (r *Runner) RunJob(ctx context.Context, name string) (JobReport, error) {
	for _, j := range r.jobs {
		if j.Name == name {
			return r.run(ctx, j), nil
		}
	}
	return JobReport{}, newErr(ErrNotFound, "no maintenance job %q", name)
}

// DryRun reports for every job, in run order, what a RunOnce now would do,
// and changes nothing: the jobs with a DueFunc count their due work, the
// others are listed as not counted. Nothing is logged or reported to
// OnReportFunc.
func (r *Runner) DryRun(ctx context.Context) []JobDue {
	out := make([]JobDue, 0, len(r.jobs))
	for _, j := range r.jobs {
		if ctx.Err() != nil {
			break
		}
		out = append(out, due(ctx, j))
	}
	return out
}

// DryRunJob is DryRun for the named job; an unknown name is ErrNotFound.
func (r *Runner) DryRunJob(ctx context.Context, name string) (JobDue, error) {
	for _, j := range r.jobs {
		if j.Name == name {
			return due(ctx, j), nil
		}
	}
	return JobDue{}, newErr(ErrNotFound, "no maintenance job %q", name)
}

// due runs one job's DueFunc, recovering a panic as its error.
func due(ctx context.Context, j Job) (d JobDue) {
	d = JobDue{Job: j.Name, Counted: j.DueFunc != nil}
	if j.DueFunc == nil {
		return d
	}
	defer func() {
		if p := recover(); p != nil {
			d.Counts, d.Err = nil, fmt.Errorf("verification: maintenance job %s panicked counting its work: %v: %w", j.Name, p, ErrInternal)
		}
	}()
	res, err := j.DueFunc(ctx)
	d.Counts, d.Err = res.Counts, err
	return d
}

// Run runs every job at once and then again Interval after each run ends,
// each job in its own goroutine, until ctx is cancelled; it then waits for
// the runs in progress to return (they see ctx cancelled) and returns nil.
func (r *Runner) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, j := range r.jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTimer(0)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				r.run(ctx, j)
				t.Reset(j.Interval)
			}
		}()
	}
	wg.Wait()
	return nil
}

// run runs one job once, recovering a panic as its error, and reports.
func (r *Runner) run(ctx context.Context, j Job) (rep JobReport) {
	rep = JobReport{Job: j.Name, Started: r.svc.Now()}
	start := time.Now()
	ctx, end := r.svc.obs.StartCall(ctx, "maintenance "+j.Name)
	defer func() {
		if p := recover(); p != nil {
			rep.Err = fmt.Errorf("verification: maintenance job %s panicked: %v: %w", j.Name, p, ErrInternal)
		}
		rep.Duration = time.Since(start)
		end(rep.Err)
		r.svc.obs.JobRan(ctx, jobRun(rep))
		r.report(rep)
	}()
	res, err := j.Run(ctx)
	rep.Counts, rep.Err = res.Counts, err
	return rep
}

// report logs rep and hands it to OnReportFunc.
func (r *Runner) report(rep JobReport) {
	did := false
	for _, n := range rep.Counts {
		did = did || n != 0
	}
	switch {
	case rep.Err != nil && !isContextErr(rep.Err):
		r.svc.log.Error().Err(rep.Err).Str("job", rep.Job).Dur("duration", rep.Duration).Msg("verification: maintenance job failed")
	case did:
		ev := r.svc.log.Info().Str("job", rep.Job).Dur("duration", rep.Duration)
		for k, n := range rep.Counts {
			ev = ev.Int(k, n)
		}
		ev.Msg("verification: maintenance job ran")
	}
	if r.onReport != nil {
		r.onReport(rep)
	}
}
