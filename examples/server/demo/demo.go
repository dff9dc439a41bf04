package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"slices"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/verification"
)

// Demo identities: fixed so the README's curl commands and the end-to-end
// test can use them.
const (
	demoUserIdentifier     = "demouser000000000000000000000000000001"
	demoPendingIdentifier  = "demopending00000000000000000000000000002"
	demoVerifiedIdentifier = "demoverified0000000000000000000000000003"
	demoDocsIdentifier     = "demodocuments000000000000000000000000004"
	demoAdminID            = 1
	demoAdminEUID          = 2
)

// demoSubjects are the subjects seedDemo creates.
type demoSubjects struct {
	User, Pending, Verified verification.Subject
	// Docs stands at the second level with an application for the third
	// submitted, documents included: the review console's second case.
	Docs verification.Subject
	// Notes say what could not be seeded for this ladder (printed at start).
	Notes []string
}

// seedDemo creates the demo subjects in a fresh store, for whatever ladder
// the server runs (the built-in one or -ladder's), answering each
// requirement with a demo answer that fits its kind and rule:
//   - User: a new user at the first level, nothing submitted, no tags;
//   - Pending: the second level's requirements answered and its
//     application submitted through the wizard, pending review (tag "us");
//   - Docs: the second level's requirements approved and the third
//     level's application submitted through the wizard, with its document
//     images (tag "eu"): the console's case with document sides;
//   - Verified: every requirement answered and approved by the demo admin,
//     so it stands at the top level (tag "eu"), with an approved
//     identity-verification session holding front, back and face images.
//
// What a ladder makes impossible (a string rule no demo answer satisfies, a
// ladder without document types for the identity images) is skipped and
// reported in Notes; it never stops the server.
func seedDemo(ctx context.Context, svc *verification.Service) (demoSubjects, error) {
	var d demoSubjects
	var err error
	if d.User, err = svc.CreateSubject(ctx, verification.CreateSubjectParams{Identifier: demoUserIdentifier}); err != nil {
		return d, fmt.Errorf("demo user: %w", err)
	}
	if d.Pending, err = svc.CreateSubject(ctx, verification.CreateSubjectParams{Identifier: demoPendingIdentifier, Tags: []string{"us"}}); err != nil {
		return d, fmt.Errorf("demo pending user: %w", err)
	}
	if d.Verified, err = svc.CreateSubject(ctx, verification.CreateSubjectParams{Identifier: demoVerifiedIdentifier, Tags: []string{"eu"}}); err != nil {
		return d, fmt.Errorf("demo verified user: %w", err)
	}
	ladder := svc.Ladder()
	lvls := ladder.Levels()
	if len(lvls) < 2 {
		d.Notes = append(d.Notes, "the ladder has one level: every user is verified already")
		return d, nil
	}
	s := &seeder{ctx: ctx, svc: svc}

	// Pending: the first step up, through the wizard as a client would.
	if err := s.pending(d.Pending.ID, lvls[1].ID); err != nil {
		d.Notes = append(d.Notes, fmt.Sprintf("%s: no pending application (%v)", TokenPending, err))
	}

	// Docs: the second level approved, the third one's application
	// submitted with its documents (after Pending's, so the queue lists it
	// second).
	if len(lvls) >= 3 {
		if d.Docs, err = svc.CreateSubject(ctx, verification.CreateSubjectParams{Identifier: demoDocsIdentifier, Tags: []string{"eu"}}); err != nil {
			return d, fmt.Errorf("demo documents user: %w", err)
		}
		if err := s.docs(d.Docs.ID, lvls[1].ID, lvls[2].ID); err != nil {
			d.Notes = append(d.Notes, fmt.Sprintf("client %s: no application with documents (%v)", demoDocsIdentifier, err))
		}
	}

	// Verified: every requirement, approved.
	var docFiles []verification.File
	for _, req := range ladder.RequirementsUpTo(ladder.Top().ID) {
		files, err := s.approve(d.Verified.ID, req)
		if err != nil {
			d.Notes = append(d.Notes, fmt.Sprintf("%s: %s not approved (%v)", TokenVerified, req.Name, err))
			continue
		}
		if docFiles == nil {
			docFiles = files
		}
	}
	if err := s.idSession(d.Verified.ID, docFiles); err != nil {
		d.Notes = append(d.Notes, fmt.Sprintf("%s: no identity-verification session (%v)", TokenVerified, err))
	}
	d.Verified, err = svc.Subject(ctx, verification.SystemActor(), d.Verified.ID)
	return d, err
}

// seeder answers requirements as the demo users.
type seeder struct {
	ctx context.Context
	svc *verification.Service
}

// pending answers the non-document requirements of level levelID and runs
// the wizard, uploading demo images for every document step, until the
// application is submitted.
func (s *seeder) pending(subjectID int64, levelID int) error {
	for _, req := range s.svc.Ladder().RequirementsOf(levelID) {
		if req.Type == levels.Document {
			continue // the wizard's steps
		}
		if err := s.answer(subjectID, req); err != nil {
			return fmt.Errorf("%s: %w", req.Name, err)
		}
	}
	step, err := s.svc.InitWizard(s.ctx, subjectID)
	for i := 0; err == nil && !step.Done() && i < 16; i++ {
		if len(step.Types) == 0 {
			return errors.New("the wizard waits for answers the demo cannot give")
		}
		t := step.Types[0]
		var files []verification.File
		if files, err = s.uploadAll(subjectID, t); err != nil {
			return err
		}
		ids := make([]string, len(files))
		for j, f := range files {
			ids[j] = f.ID
		}
		step, err = s.svc.RunWizard(s.ctx, verification.RunWizardParams{SubjectID: subjectID, UUID: step.UUID, DocumentType: t.ID, Files: ids})
	}
	if err != nil {
		return err
	}
	if !step.Done() {
		return errors.New("the wizard did not finish")
	}
	return nil
}

// docs approves every requirement of level from, then submits an
// application for level to through the wizard.
func (s *seeder) docs(subjectID int64, from, to int) error {
	for _, req := range s.svc.Ladder().RequirementsOf(from) {
		if _, err := s.approve(subjectID, req); err != nil {
			return fmt.Errorf("%s: %w", req.Name, err)
		}
	}
	return s.pending(subjectID, to)
}

// answer gives req a demo answer as the user (or, for host-set
// requirements, as the host); documents are not answered here.
func (s *seeder) answer(subjectID int64, req *levels.Requirement) error {
	v, err := demoValue(req)
	if err != nil {
		return err
	}
	if req.SetBy == levels.SetByHost {
		_, err = s.svc.SetRequirement(s.ctx, verification.AdminActor(demoAdminID, nil), verification.SetRequirementParams{SubjectID: subjectID, Requirement: req.Name, Value: v})
		return err
	}
	_, err = s.svc.Answer(s.ctx, subjectID, req.Name, v)
	return err
}

// approve answers req (documents included: demo images for its first
// enabled type) and approves it as the demo admin when it awaits review.
// It returns the files of a document requirement.
func (s *seeder) approve(subjectID int64, req *levels.Requirement) ([]verification.File, error) {
	var files []verification.File
	if req.Type == levels.Document {
		i := slices.IndexFunc(req.AcceptedTypes(), func(t documents.Type) bool { return t.Enabled })
		if i < 0 {
			return nil, errors.New("no enabled document type")
		}
		t := req.AcceptedTypes()[i]
		var err error
		if files, err = s.uploadAll(subjectID, t); err != nil {
			return nil, err
		}
		a := levels.DocumentAnswer{Type: t.Name, Files: map[string]string{}}
		for j, side := range t.Sides {
			a.Files[side] = files[j].ID
		}
		b, _ := json.Marshal(a)
		if _, err := s.svc.Answer(s.ctx, subjectID, req.Name, b); err != nil {
			return nil, err
		}
	} else if err := s.answer(subjectID, req); err != nil {
		return nil, err
	}
	states, err := s.svc.RequirementStates(s.ctx, verification.SystemActor(), subjectID)
	if err != nil {
		return nil, err
	}
	for _, st := range states {
		if st.Name == req.Name && st.Status == levels.Pending {
			_, err = s.svc.Review(s.ctx, verification.AdminActor(demoAdminID, nil), verification.ReviewParams{SubjectID: subjectID, Requirement: req.Name, Decision: verification.Approve,
				Reason: "approved by the demo admin"})
		}
	}
	return files, err
}

// idSession records an approved identity check with the first document's
// images (front, and back when it has a second side) and a face image.
func (s *seeder) idSession(subjectID int64, docFiles []verification.File) error {
	if len(docFiles) == 0 {
		types := slices.DeleteFunc(s.svc.Ladder().DocumentTypes(), func(t documents.Type) bool { return !t.Enabled })
		if len(types) == 0 {
			return errors.New("the ladder has no enabled document type for the front image")
		}
		var err error
		if docFiles, err = s.uploadAll(subjectID, types[0]); err != nil {
			return err
		}
	}
	face, err := s.upload(subjectID, verification.SelfieType, verification.SelfieSide, 2)
	if err != nil {
		return err
	}
	p := verification.RecordIDSessionParams{SubjectID: subjectID, Provider: "veriff", FrontFileID: docFiles[0].ID, FaceFileID: face.ID}
	if len(docFiles) > 1 {
		p.BackFileID = docFiles[1].ID
	}
	_, err = s.svc.RecordIDSession(s.ctx, verification.SystemActor(), p)
	return err
}

// uploadAll uploads a demo image for every side of t, in side order.
func (s *seeder) uploadAll(subjectID int64, t documents.Type) ([]verification.File, error) {
	files := make([]verification.File, len(t.Sides))
	for i, side := range t.Sides {
		f, err := s.upload(subjectID, t.Name, side, i)
		if err != nil {
			return nil, err
		}
		files[i] = f
	}
	return files, nil
}

// demoColors tint the demo images (front, back, face).
var demoColors = []color.RGBA{{0x20, 0x60, 0xa0, 0xff}, {0xa0, 0x60, 0x20, 0xff}, {0xe0, 0xc0, 0xa0, 0xff}}

// upload uploads a small generated PNG.
func (s *seeder) upload(subjectID int64, docType, side string, shade int) (verification.File, error) {
	img := image.NewRGBA(image.Rect(0, 0, 64, 40))
	c := demoColors[shade%len(demoColors)]
	for y := 0; y < 40; y++ {
		for x := 0; x < 64; x++ {
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return verification.File{}, err
	}
	f, err := s.svc.Upload(s.ctx, verification.UploadParams{SubjectID: subjectID, DocumentType: docType, Side: side, Body: &buf})
	if err != nil {
		return f, fmt.Errorf("demo upload %s %s: %w", docType, side, err)
	}
	return f, nil
}

// demoStrings are tried, in order, as the answer to a string requirement;
// the first its rule accepts is used.
var demoStrings = []string{"123456", "demo", "demo@example.com", "NL", "2000-01-01", "https://example.com", "Demo User", "1", "A"}

// demoValue returns an answer for a non-document requirement that its
// rule accepts: false for a user's boolean (true when the host sets it),
// the first value of a choice in sorted order, the first option of every
// question, the first demo string the rule accepts.
func demoValue(req *levels.Requirement) (json.RawMessage, error) {
	var v any
	switch req.Type {
	case levels.Boolean:
		v = req.SetBy == levels.SetByHost
	case levels.Choice:
		vals := make([]string, 0, len(req.Choices))
		for _, x := range req.Choices {
			vals = append(vals, x)
		}
		slices.Sort(vals)
		if slices.Contains(vals, "NL") {
			v = "NL" // the walkthrough's nationality
		} else {
			v = vals[0]
		}
	case levels.Question:
		m := map[string]string{}
		for _, q := range req.Questions {
			m[q.Key] = q.AnswerOptions[0]
		}
		v = m
	case levels.String:
		for _, s := range demoStrings {
			b, _ := json.Marshal(s)
			if req.Validate(b) == nil {
				return b, nil
			}
		}
		return nil, fmt.Errorf("no demo answer satisfies the rule %q", req.Rule)
	default:
		return nil, fmt.Errorf("kind %s has no demo value", req.Type)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if err := req.Validate(b); err != nil {
		return nil, err
	}
	return b, nil
}
