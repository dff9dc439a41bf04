package verification

import (
	"context"
	"errors"
	"time"
)

// IDSession is an identity-verification session (the identity verification API): the record of an
// identity check by a provider ("veriff") or a reviewer ("manual").
type IDSession struct {
	// ID is generated (a UUID by default); the identity verification API's id.
	ID string
	// SubjectID is the subject checked.
	SubjectID int64
	// Provider names who ran the check (the identity verification API's type).
	Provider string
	// Status is the check's verdict (IDSessionApproved, or the provider's).
	Status string
	// CreatedAt is when the check happened (the identity verification API's date).
	CreatedAt time.Time
	// FrontFileID, BackFileID (may be empty) and FaceFileID name Files.
	FrontFileID string
	// BackFileID names the document's back image; may be empty.
	BackFileID string
	// FaceFileID names the face image; may be empty.
	FaceFileID string
}

// Identity-verification session providers and statuses.
const (
	// ProviderManual marks a session recorded by a reviewer's approval.
	ProviderManual = "manual"
	// IDSessionApproved is the status of an approved session.
	IDSessionApproved = "approved"
)

// RecordIDSessionParams are the inputs of RecordIDSession.
type RecordIDSessionParams struct {
	// SubjectID is the subject checked.
	SubjectID int64
	// Provider names who ran the check, e.g. "veriff".
	Provider string
	// Status is the provider's verdict; "" means approved.
	Status string
	// FrontFileID (required), BackFileID and FaceFileID name files the
	// subject owns (uploaded with Upload; the face as SelfieType).
	FrontFileID, BackFileID, FaceFileID string
	// At is when the check happened; zero means now.
	At time.Time
}

// RecordIDSession records an identity check an external provider reported
// to the host (the identity verification API). The actor is the host, the system, the provider
// or an admin; users may not record their own checks.
func (s *Service) RecordIDSession(ctx context.Context, actor Actor, p RecordIDSessionParams) (IDSession, error) {
	if err := actor.may("RecordIDSession", setters...); err != nil {
		return IDSession{}, s.fail("RecordIDSession", err)
	}
	if p.Status == "" {
		p.Status = IDSessionApproved
	}
	var err error
	switch {
	case p.SubjectID <= 0:
		err = invalid("subjectId", "must be a positive integer")
	case p.Provider == "" || len(p.Provider) > 64:
		err = invalid("provider", "must be 1-64 characters")
	case len(p.Status) > 64:
		err = invalid("status", "must be at most 64 characters")
	case p.FrontFileID == "":
		err = invalid("frontFileId", "is required")
	}
	if err != nil {
		return IDSession{}, s.fail("RecordIDSession", err)
	}
	at := p.At.UTC().Truncate(time.Microsecond)
	if p.At.IsZero() {
		at = s.Now()
	}
	sess := IDSession{ID: s.newID(), SubjectID: p.SubjectID, Provider: p.Provider, Status: p.Status, CreatedAt: at,
		FrontFileID: p.FrontFileID, BackFileID: p.BackFileID, FaceFileID: p.FaceFileID}
	err = s.inTx(ctx, "RecordIDSession", func(ctx context.Context, tx Store) error {
		if _, err := lockVisible(ctx, tx, actor, p.SubjectID); err != nil {
			return err
		}
		for field, id := range map[string]string{"frontFileId": p.FrontFileID, "backFileId": p.BackFileID, "faceFileId": p.FaceFileID} {
			if id == "" {
				continue
			}
			f, err := tx.GetFile(ctx, id)
			if errors.Is(err, ErrNotFound) || err == nil && f.SubjectID != p.SubjectID {
				e := newErr(ErrNotFound, "file %q not found", id)
				e.Field = field
				return e
			}
			if err != nil {
				return err
			}
		}
		if err := tx.AddIDSession(ctx, sess); err != nil {
			return err
		}
		action := AuditIDSessionRecorded
		if actor.Kind == ActorProvider {
			action = AuditProviderDecision
		}
		return s.audit(ctx, tx, actor, auditArgs{action: action, subjectID: sess.SubjectID, entity: AuditEntityIDSession, entityID: sess.ID,
			summary: map[string]string{"provider": sess.Provider, "status": sess.Status}})
	})
	return sess, err
}

// LatestIDSession returns the subject's most recent approved
// identity-verification session, or ErrNotFound when it has none.
func (s *Service) LatestIDSession(ctx context.Context, subjectID int64) (IDSession, error) {
	v, err := s.IDVerification(ctx, subjectID)
	return v.Session, err
}
