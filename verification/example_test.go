package verification_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/storage/memory"
	"github.com/openkyc/kyc/verification"
)

// ExampleNew builds a Service for a two-level ladder on the memory store and
// walks a subject to the top.
func ExampleNew() {
	ladder, err := levels.New([]levels.Level{
		{ID: 1, Name: "Level 0"},
		{ID: 2, Name: "Level 1", Requirements: []levels.Requirement{
			{Name: "isBusiness", Type: levels.Boolean},
			{Name: "emailCode", Type: levels.String, Rule: "required,numeric,len=6", Review: true},
		}},
	})
	if err != nil {
		panic(err)
	}
	svc, err := verification.New(ladder, memory.New(), verification.Options{})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	sub, err := svc.CreateSubject(ctx, verification.CreateSubjectParams{Identifier: "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00"})
	if err != nil {
		panic(err)
	}
	_, _ = svc.Answer(ctx, sub.ID, "isBusiness", json.RawMessage(`false`))
	_, _ = svc.Answer(ctx, sub.ID, "emailCode", json.RawMessage(`"123456"`))

	res, _ := svc.Status(ctx, sub.ID, 0)
	for _, o := range res.Outstanding {
		fmt.Println(o.Name, o.Status)
	}

	// The host checked the code it mailed: approve it.
	_, _ = svc.SetRequirement(ctx, verification.HostActor(), verification.SetRequirementParams{SubjectID: sub.ID, Requirement: "emailCode"})
	page, _ := svc.Grants(ctx, verification.SystemActor(), verification.GrantFilter{SubjectID: sub.ID, Limit: 10})
	for _, g := range page.Items {
		fmt.Printf("%s (%s)\n", g.Level.Name, g.Reason)
	}
	// Output:
	// emailCode pending
	// Level 0 (created)
	// Level 1 (Review: emailCode)
}
