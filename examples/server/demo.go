package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"

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
	User, Pending, Verified, Docs verification.Subject
}

// seedDemo creates the demo subjects in a fresh store:
//   - User: a new user at the first level, nothing submitted, no tags;
//   - Pending: Level 1 answered, its application submitted and pending review;
//   - Docs: at Level 1 with a Level 2 application (passport front and back)
//     submitted and pending review, tagged "eu";
//   - Verified: fully verified (three grants), tagged "eu", with an approved
//     identity-verification session holding front, back and face images.
func seedDemo(ctx context.Context, svc *verification.Service) (demoSubjects, error) {
	var d demoSubjects
	var err error
	if d.User, err = svc.CreateSubject(ctx, verification.CreateSubjectParams{Identifier: demoUserIdentifier}); err != nil {
		return d, fmt.Errorf("demo user: %w", err)
	}
	if d.Pending, err = svc.CreateSubject(ctx, verification.CreateSubjectParams{Identifier: demoPendingIdentifier, Tags: []string{"us"}}); err != nil {
		return d, fmt.Errorf("demo pending user: %w", err)
	}
	if err := answerLevel1(ctx, svc, d.Pending.ID); err != nil {
		return d, err
	}
	if _, err := svc.InitWizard(ctx, d.Pending.ID); err != nil {
		return d, fmt.Errorf("demo pending application: %w", err)
	}

	if d.Docs, err = seedDocs(ctx, svc); err != nil {
		return d, err
	}

	if d.Verified, err = svc.CreateSubject(ctx, verification.CreateSubjectParams{Identifier: demoVerifiedIdentifier, Tags: []string{"eu"}}); err != nil {
		return d, fmt.Errorf("demo verified user: %w", err)
	}
	id := d.Verified.ID
	if err := answerLevel1(ctx, svc, id); err != nil {
		return d, err
	}
	if _, err := svc.SetRequirement(ctx, verification.HostActor(), verification.SetRequirementParams{SubjectID: id, Requirement: "emailCode"}); err != nil {
		return d, fmt.Errorf("demo email code: %w", err)
	}
	if _, err := svc.Answer(ctx, id, "AMLD5Questions", json.RawMessage(`{"Question1":"answer1","Question2":"answer2"}`)); err != nil {
		return d, fmt.Errorf("demo questions: %w", err)
	}
	front, err := demoUpload(ctx, svc, id, "passport", "front", color.RGBA{0x20, 0x60, 0xa0, 0xff})
	if err != nil {
		return d, err
	}
	back, err := demoUpload(ctx, svc, id, "passport", "back", color.RGBA{0xa0, 0x60, 0x20, 0xff})
	if err != nil {
		return d, err
	}
	face, err := demoUpload(ctx, svc, id, verification.SelfieType, verification.SelfieSide, color.RGBA{0xe0, 0xc0, 0xa0, 0xff})
	if err != nil {
		return d, err
	}
	answer := fmt.Sprintf(`{"type":"passport","files":{"front":%q,"back":%q}}`, front.ID, back.ID)
	if _, err := svc.Answer(ctx, id, "idDocument", json.RawMessage(answer)); err != nil {
		return d, fmt.Errorf("demo id document: %w", err)
	}
	if _, err := svc.SetRequirement(ctx, verification.AdminActor(demoAdminID, nil), verification.SetRequirementParams{SubjectID: id, Requirement: "verificationFlag", Value: json.RawMessage(`true`)}); err != nil {
		return d, fmt.Errorf("demo verification flag: %w", err)
	}
	if _, err := svc.Review(ctx, verification.AdminActor(demoAdminID, nil), verification.ReviewParams{SubjectID: id, Requirement: "idDocument", Decision: verification.Approve, Reason: "demo documents approved"}); err != nil {
		return d, fmt.Errorf("demo review: %w", err)
	}
	if _, err := svc.RecordIDSession(ctx, verification.SystemActor(), verification.RecordIDSessionParams{SubjectID: id, Provider: "veriff", FrontFileID: front.ID, BackFileID: back.ID, FaceFileID: face.ID}); err != nil {
		return d, fmt.Errorf("demo identity session: %w", err)
	}
	d.Verified, err = svc.Subject(ctx, verification.SystemActor(), id)
	return d, err
}

// seedDocs creates the subject whose Level 2 application, with a passport,
// awaits review.
func seedDocs(ctx context.Context, svc *verification.Service) (verification.Subject, error) {
	sub, err := svc.CreateSubject(ctx, verification.CreateSubjectParams{Identifier: demoDocsIdentifier, Tags: []string{"eu"}})
	if err != nil {
		return sub, fmt.Errorf("demo documents user: %w", err)
	}
	if err := answerLevel1(ctx, svc, sub.ID); err != nil {
		return sub, err
	}
	if _, err := svc.Review(ctx, verification.AdminActor(demoAdminID, nil), verification.ReviewParams{SubjectID: sub.ID, Requirement: "emailCode", Decision: verification.Approve}); err != nil {
		return sub, fmt.Errorf("demo email code review: %w", err)
	}
	if _, err := svc.Answer(ctx, sub.ID, "AMLD5Questions", json.RawMessage(`{"Question1":"answer2","Question2":"answer1"}`)); err != nil {
		return sub, fmt.Errorf("demo questions: %w", err)
	}
	front, err := demoUpload(ctx, svc, sub.ID, "passport", "front", color.RGBA{0x30, 0x90, 0x50, 0xff})
	if err != nil {
		return sub, err
	}
	back, err := demoUpload(ctx, svc, sub.ID, "passport", "back", color.RGBA{0x90, 0x30, 0x70, 0xff})
	if err != nil {
		return sub, err
	}
	answer := fmt.Sprintf(`{"type":"passport","files":{"front":%q,"back":%q}}`, front.ID, back.ID)
	if _, err := svc.Answer(ctx, sub.ID, "idDocument", json.RawMessage(answer)); err != nil {
		return sub, fmt.Errorf("demo id document: %w", err)
	}
	step, err := svc.InitWizard(ctx, sub.ID)
	if err != nil {
		return sub, fmt.Errorf("demo documents application: %w", err)
	}
	if step.Application.Status != verification.ApplicationSubmitted {
		return sub, fmt.Errorf("demo documents application is %s, not submitted", step.Application.Status)
	}
	return sub, nil
}

func answerLevel1(ctx context.Context, svc *verification.Service, id int64) error {
	for _, a := range []struct{ name, value string }{
		{"isBusiness", `false`}, {"nationality", `"NL"`}, {"emailCode", `"123456"`},
	} {
		if _, err := svc.Answer(ctx, id, a.name, json.RawMessage(a.value)); err != nil {
			return fmt.Errorf("demo answer %s: %w", a.name, err)
		}
	}
	return nil
}

// demoUpload uploads a small generated PNG.
func demoUpload(ctx context.Context, svc *verification.Service, subjectID int64, docType, side string, c color.Color) (verification.File, error) {
	img := image.NewRGBA(image.Rect(0, 0, 64, 40))
	for y := 0; y < 40; y++ {
		for x := 0; x < 64; x++ {
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return verification.File{}, err
	}
	f, err := svc.Upload(ctx, verification.UploadParams{SubjectID: subjectID, DocumentType: docType, Side: side, Body: &buf})
	if err != nil {
		return f, fmt.Errorf("demo upload %s %s: %w", docType, side, err)
	}
	return f, nil
}
