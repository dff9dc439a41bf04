package demo

import (
	"encoding/json"
	"testing"

	"github.com/openkyc/kyc/storage/memory"
	"github.com/openkyc/kyc/verification"
)

// TestDiligenceLadder: the shipped diligence ladder and the made-up list
// make a Service whose maintenance runner carries the expiry sweep and the
// screening, and a subject answering the list's first entry is held for
// review.
func TestDiligenceLadder(t *testing.T) {
	t.Parallel()
	ladder, err := loadLadder("../diligence.json")
	if err != nil {
		t.Fatal(err)
	}
	screener, err := loadScreener("../../../screening/listscreen/testdata/fictitious.csv")
	if err != nil {
		t.Fatal(err)
	}
	svc, err := verification.New(ladder, memory.New(), verification.Options{Screener: screener, DowngradeOnExpiry: true})
	if err != nil {
		t.Fatal(err)
	}
	runner, err := svc.Maintenance(verification.MaintenanceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	jobs := map[string]bool{}
	for _, j := range runner.Jobs() {
		jobs[j.Name] = true
	}
	if !jobs[verification.JobRequirementExpiry] || !jobs[verification.JobScreening] {
		t.Fatalf("jobs %v lack requirement-expiry or screening", jobs)
	}
	ctx := t.Context()
	sub, err := svc.CreateSubject(ctx, verification.CreateSubjectParams{Identifier: "diligencedemo000000000000000000000001"})
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"fullName": "Orlando Tremaine", "birthDate": "1968-05-17", "nationality": "NL"} {
		b, _ := json.Marshal(v)
		if _, err := svc.Answer(ctx, sub.ID, name, b); err != nil {
			t.Fatal(name, err)
		}
	}
	rep, err := runner.RunJob(ctx, verification.JobScreening)
	if err != nil || rep.Err != nil {
		t.Fatal(err, rep.Err)
	}
	if rep.Counts["hits"] != 1 {
		t.Fatalf("screening counts %v: want one hit", rep.Counts)
	}
}
