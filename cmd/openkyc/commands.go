package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/verification"
)

// migrateCmd applies the store's migrations.
type migrateCmd struct{}

// Run implements the command.
func (migrateCmd) Run(e *env) error {
	st, err := e.openStore(true)
	if err != nil {
		return err
	}
	if err := st.close(); err != nil {
		return err
	}
	return e.out.emit(struct {
		Store    string `json:"store"`
		Migrated bool   `json:"migrated"`
	}{st.kind, true})
}

// ladderCmd groups the ladder checks.
type ladderCmd struct {
	Validate ladderValidateCmd `cmd:"" help:"Load a ladder file as the Service would; exit 1 with the loader's message if it is refused."`
}

// ladderValidateCmd loads a ladder file.
type ladderValidateCmd struct {
	File string `arg:"" help:"The ladder (levels JSON)." type:"path"`
}

// Run implements the command.
func (c ladderValidateCmd) Run(e *env) error {
	l, err := levels.LoadFile(c.File)
	if err != nil {
		return usageErr("%s", oneLine(err.Error()))
	}
	return e.out.emit(struct {
		Valid        bool `json:"valid"`
		Levels       int  `json:"levels"`
		Requirements int  `json:"requirements"`
	}{true, len(l.Levels()), len(l.Requirements())})
}

// subjectsCmd groups the subject commands.
type subjectsCmd struct {
	Get   subjectsGetCmd   `cmd:"" help:"Show a subject."`
	Tags  subjectsTagsCmd  `cmd:"" help:"Replace a subject's tags."`
	Hold  subjectsHoldCmd  `cmd:"" help:"Place (or with --release lift) a legal hold."`
	Erase subjectsEraseCmd `cmd:"" help:"Erase a subject's personal data and documents (irreversible)."`
}

// subjectsGetCmd shows a subject.
type subjectsGetCmd struct {
	ID int64 `arg:"" help:"The subject's id (clientId)."`
}

// Run implements the command.
func (c subjectsGetCmd) Run(e *env) error {
	svc, st, err := e.service("subjects get", false, verification.Options{})
	if err != nil {
		return err
	}
	defer st.close()
	sub, err := svc.Subject(e.ctx, e.actor(), c.ID)
	if err != nil {
		return err
	}
	return e.out.emit(newSubjectView(sub))
}

// subjectsTagsCmd replaces a subject's tags.
type subjectsTagsCmd struct {
	ID    int64    `arg:"" help:"The subject's id."`
	Tags  []string `arg:"" optional:"" help:"The new tags (all of them)."`
	Clear bool     `help:"Remove every tag (instead of giving tags)."`
}

// Run implements the command.
func (c subjectsTagsCmd) Run(e *env) error {
	if err := e.mutating("subjects tags"); err != nil {
		return err
	}
	if len(c.Tags) == 0 && !c.Clear {
		return usageErr("subjects tags: give the new tags, or --clear to remove every tag")
	}
	if len(c.Tags) > 0 && c.Clear {
		return usageErr("subjects tags: give tags or --clear, not both")
	}
	svc, st, err := e.service("subjects tags", false, verification.Options{})
	if err != nil {
		return err
	}
	defer st.close()
	sub, err := svc.SetTags(e.ctx, e.actor(), c.ID, c.Tags)
	if err != nil {
		return err
	}
	return e.out.emit(newSubjectView(sub))
}

// subjectsHoldCmd places or lifts a legal hold.
type subjectsHoldCmd struct {
	ID      int64 `arg:"" help:"The subject's id."`
	Release bool  `help:"Lift the hold instead of placing it."`
}

// Run implements the command.
func (c subjectsHoldCmd) Run(e *env) error {
	if err := e.mutating("subjects hold"); err != nil {
		return err
	}
	svc, st, err := e.service("subjects hold", false, verification.Options{})
	if err != nil {
		return err
	}
	defer st.close()
	sub, err := svc.SetLegalHold(e.ctx, e.actor(), c.ID, !c.Release)
	if err != nil {
		return err
	}
	return e.out.emit(newSubjectView(sub))
}

// subjectsEraseCmd erases a subject.
type subjectsEraseCmd struct {
	ID int64 `arg:"" help:"The subject's id."`
}

// Run implements the command.
func (c subjectsEraseCmd) Run(e *env) error {
	if err := e.mutating("subjects erase"); err != nil {
		return err
	}
	if err := e.ownBlobs("subjects erase"); err != nil {
		return err
	}
	key, err := identifierKey()
	if err != nil {
		return err
	}
	svc, st, err := e.service("subjects erase", true, verification.Options{IdentifierKey: key})
	if err != nil {
		return err
	}
	defer st.close()
	if err := svc.Erase(e.ctx, e.actor(), c.ID); err != nil {
		return err
	}
	return e.out.emit(struct {
		ID     int64 `json:"id"`
		Erased bool  `json:"erased"`
	}{c.ID, true})
}

// page are the paging flags of the list commands.
type page struct {
	Limit  int `help:"At most this many items (1 to 1000)." default:"100"`
	Offset int `help:"Skip this many items first."`
}

// grantsCmd groups the grant commands.
type grantsCmd struct {
	List grantsListCmd `cmd:"" help:"List grants, newest first (one JSON object per line)."`
}

// grantsListCmd lists grants.
type grantsListCmd struct {
	Subject int64 `help:"Only this subject's grants."`
	page
}

// Run implements the command.
func (c grantsListCmd) Run(e *env) error {
	svc, st, err := e.service("grants list", false, verification.Options{})
	if err != nil {
		return err
	}
	defer st.close()
	p, err := svc.Grants(e.ctx, e.actor(), verification.GrantFilter{SubjectID: c.Subject, Limit: c.Limit, Offset: c.Offset, Desc: true})
	if err != nil {
		return err
	}
	for _, g := range p.Items {
		if err := e.out.emit(newGrantView(g)); err != nil {
			return err
		}
	}
	return nil
}

// applicationsCmd groups the application commands.
type applicationsCmd struct {
	List   applicationsListCmd   `cmd:"" help:"List applications (one JSON object per line)."`
	Expire applicationsExpireCmd `cmd:"" help:"Expire every open application past its TTL now (the application-expiry job)."`
}

// applicationsListCmd lists applications.
type applicationsListCmd struct {
	Subject int64    `help:"Only this subject's applications."`
	Status  []string `help:"Only applications in these statuses (repeat the flag or separate by commas)." enum:"draft,submitted,approved,rejected,expired"`
	page
}

// Run implements the command.
func (c applicationsListCmd) Run(e *env) error {
	svc, st, err := e.service("applications list", false, verification.Options{})
	if err != nil {
		return err
	}
	defer st.close()
	f := verification.ApplicationFilter{SubjectID: c.Subject, Limit: c.Limit, Offset: c.Offset}
	for _, s := range c.Status {
		f.Statuses = append(f.Statuses, verification.ApplicationStatus(s))
	}
	p, err := svc.Applications(e.ctx, e.actor(), f)
	if err != nil {
		return err
	}
	for _, a := range p.Items {
		if err := e.out.emit(newApplicationView(a)); err != nil {
			return err
		}
	}
	return nil
}

// applicationsExpireCmd runs the application expiry.
type applicationsExpireCmd struct{}

// Run implements the command.
func (applicationsExpireCmd) Run(e *env) error {
	if err := e.mutating("applications expire"); err != nil {
		return err
	}
	svc, st, err := e.service("applications expire", true, verification.Options{})
	if err != nil {
		return err
	}
	defer st.close()
	n, err := svc.ExpireDueAs(e.ctx, e.actor())
	if err != nil {
		return err
	}
	return e.out.emit(struct {
		Expired int `json:"expired"`
	}{n})
}

// deliveriesCmd groups the outbox commands.
type deliveriesCmd struct {
	Dead   deliveriesDeadCmd   `cmd:"" help:"List dead-lettered deliveries (one JSON object per line)."`
	Replay deliveriesReplayCmd `cmd:"" help:"Put a dead-lettered delivery back in the queue with fresh attempts."`
}

// deliveriesDeadCmd lists dead letters.
type deliveriesDeadCmd struct {
	Sink string `help:"Only this sink's deliveries."`
	page
}

// Run implements the command.
func (c deliveriesDeadCmd) Run(e *env) error {
	d, st, err := e.dispatcher()
	if err != nil {
		return err
	}
	defer st.close()
	if c.Limit < 1 || c.Limit > verification.MaxPageSize || c.Offset < 0 {
		return usageErr("--limit must be between 1 and %d and --offset not negative", verification.MaxPageSize)
	}
	p, err := d.DeadLetters(e.ctx, c.Sink, c.Limit, c.Offset)
	if err != nil {
		return err
	}
	for _, dl := range p.Items {
		if err := e.out.emit(newDeliveryView(dl)); err != nil {
			return err
		}
	}
	return nil
}

// deliveriesReplayCmd replays a dead letter.
type deliveriesReplayCmd struct {
	EventID string `arg:"" help:"The event's id (eventId in deliveries dead)."`
	Sink    string `required:"" help:"The sink to deliver it to again."`
}

// Run implements the command.
func (c deliveriesReplayCmd) Run(e *env) error {
	if err := e.mutating("deliveries replay"); err != nil {
		return err
	}
	d, st, err := e.dispatcher()
	if err != nil {
		return err
	}
	defer st.close()
	if err := d.Replay(e.ctx, e.actor(), c.EventID, c.Sink); err != nil {
		return err
	}
	return e.out.emit(struct {
		EventID  string `json:"eventId"`
		Sink     string `json:"sink"`
		Replayed bool   `json:"replayed"`
	}{c.EventID, c.Sink, true})
}

// dispatcher opens the store and returns a Dispatcher without sinks over
// it: enough to read and replay dead letters (the host's dispatcher
// delivers them).
func (e *env) dispatcher() (*verification.Dispatcher, *store, error) {
	st, err := e.openStore(false)
	if err != nil {
		return nil, nil, err
	}
	d, err := verification.NewDispatcher(st, verification.DispatcherOptions{})
	if err != nil {
		_ = st.close()
		return nil, nil, err
	}
	return d, st, nil
}

// maintenanceCmd groups the maintenance commands.
type maintenanceCmd struct {
	Run maintenanceRunCmd `cmd:"" help:"Run the maintenance jobs once (one report per job and line)."`
}

// maintenanceRunCmd runs the maintenance jobs once.
type maintenanceRunCmd struct {
	DryRun         bool          `help:"Change nothing: report per job what a run would do now."`
	Job            []string      `help:"Run only these jobs (by name, in the given order)."`
	ImageRetention time.Duration `help:"The deployment's Options.ImageRetention (0 keeps images)."`
	UploadTTL      time.Duration `name:"upload-ttl" help:"The deployment's Options.UploadTTL (0: the default, 24h)."`
}

// jobView is one job's report.
type jobView struct {
	Job        string         `json:"job"`
	Counts     map[string]int `json:"counts"`
	Error      string         `json:"error,omitempty"`
	DurationMS int64          `json:"durationMs"`
}

// dueView is one job's dry run.
type dueView struct {
	Job     string         `json:"job"`
	Counted bool           `json:"counted"`
	Due     map[string]int `json:"due"`
	Error   string         `json:"error,omitempty"`
}

// Run implements the command.
func (c maintenanceRunCmd) Run(e *env) error {
	if !c.DryRun {
		if err := e.mutating("maintenance run"); err != nil {
			return err
		}
		if err := e.ownBlobs("maintenance run"); err != nil {
			return err
		}
	}
	svc, st, err := e.service("maintenance run", true, verification.Options{ImageRetention: c.ImageRetention, UploadTTL: c.UploadTTL})
	if err != nil {
		return err
	}
	defer st.close()
	// Screening calls the host's screener: it runs in the host only.
	r, err := svc.Maintenance(verification.MaintenanceOptions{Screening: -1})
	if err != nil {
		return err
	}
	var (
		views  []any
		failed int
		runErr error // RunAs's: the entry not written (the reports are still shown)
	)
	if c.DryRun {
		names := c.Job
		if len(names) == 0 {
			for _, j := range r.Jobs() {
				names = append(names, j.Name)
			}
		}
		for _, name := range names {
			d, err := r.DryRunJob(e.ctx, name)
			if err != nil {
				return err
			}
			dv := dueView{Job: d.Job, Counted: d.Counted, Due: d.Counts}
			if d.Err != nil {
				dv.Error, failed = message(d.Err), failed+1
			}
			views = append(views, dv)
		}
	} else {
		// One audit entry naming the operator, with every job's counts.
		var reps []verification.JobReport
		reps, runErr = r.RunAs(e.ctx, e.actor(), c.Job...)
		for _, rep := range reps {
			jv := jobView{Job: rep.Job, Counts: rep.Counts, DurationMS: rep.Duration.Milliseconds()}
			if rep.Err != nil {
				jv.Error, failed = message(rep.Err), failed+1
			}
			views = append(views, jv)
		}
	}
	for _, v := range views {
		if err := e.out.emit(v); err != nil {
			return err
		}
	}
	if runErr != nil {
		return runErr
	}
	if failed > 0 {
		return usageErr("%d maintenance job(s) failed (see their reports)", failed)
	}
	return nil
}

// auditCmd groups the audit trail commands.
type auditCmd struct {
	Export auditExportCmd `cmd:"" help:"Stream audit entries in order (one JSON object per line)."`
	Verify auditVerifyCmd `cmd:"" help:"Check the whole hash chain; exit 1 naming the first entry that does not verify."`
}

// auditExportCmd exports the trail.
type auditExportCmd struct {
	Subject  int64     `help:"Only entries about this subject."`
	Action   string    `help:"Only entries of this action (e.g. subject.erased)."`
	Since    time.Time `help:"Only entries at or after this RFC 3339 time."`
	Until    time.Time `help:"Only entries before this RFC 3339 time."`
	AfterSeq int64     `help:"Only entries after this sequence number (resume an export)."`
	Limit    int       `help:"At most this many entries (0: all)."`
}

// Run implements the command.
func (c auditExportCmd) Run(e *env) error {
	svc, st, err := e.service("audit export", false, verification.Options{})
	if err != nil {
		return err
	}
	defer st.close()
	f := verification.AuditFilter{SubjectID: c.Subject, Action: verification.AuditAction(c.Action), Since: c.Since, Until: c.Until, AfterSeq: c.AfterSeq, Limit: c.Limit}
	var outErr error
	err = svc.ExportAudit(e.ctx, e.actor(), f, func(a verification.AuditEntry) error {
		outErr = e.out.emit(newAuditView(a))
		return outErr
	})
	if outErr != nil && errors.Is(err, outErr) {
		return fmt.Errorf("writing the export: %w", outErr)
	}
	return err
}

// auditVerifyCmd verifies the trail.
type auditVerifyCmd struct{}

// Run implements the command.
func (auditVerifyCmd) Run(e *env) error {
	svc, st, err := e.service("audit verify", false, verification.Options{})
	if err != nil {
		return err
	}
	defer st.close()
	head, err := svc.VerifyAudit(e.ctx)
	if err != nil {
		return err
	}
	return e.out.emit(struct {
		Verified bool   `json:"verified"`
		Entries  int64  `json:"entries"`
		Head     string `json:"head"`
	}{true, head.Seq, head.Hash})
}
