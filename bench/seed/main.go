// Command seed adds the data bench/http.sh needs to a demo server's data
// directory, while the server is stopped:
//
//   - one subject at Level 1 whose Level 2 wizard waits at the document
//     step (the "wizard resume" route), created through the Service;
//   - -answer-subjects fresh subjects at the first level for the answer
//     submissions (one answer each), inserted through the Store in large
//     transactions, without events, so that seeding them leaves no
//     backlog for the server's event dispatcher.
//
// It prints the wizard subject's identifier on stdout.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/storage/sqlite"
	"github.com/openkyc/kyc/verification"
)

// Identifiers of the seeded subjects (36 alphanumerics, like the demo's).
const (
	// WizardIdentifier is the subject whose wizard waits at the document step.
	WizardIdentifier = "benchwizard00000000000000000000000001"
	// answerFormat names the answer subjects: benchanswer + 25 digits.
	answerFormat = "benchanswer%025d"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
}

func run() error {
	data := flag.String("data", "", "the demo server's data directory (server stopped)")
	ladderPath := flag.String("ladder", "examples/server/demo/ladder.json", "the server's ladder")
	answers := flag.Int("answer-subjects", 100_000, "subjects to create for answer submissions (numbered from 0)")
	flag.Parse()
	if *data == "" {
		return errors.New("-data is required")
	}
	ctx := context.Background()
	ladder, err := levels.LoadFile(*ladderPath)
	if err != nil {
		return err
	}
	store, err := sqlite.Open(ctx, filepath.Join(*data, "openkyc.db"), sqlite.Options{})
	if err != nil {
		return err
	}
	defer store.Close()
	svc, err := verification.New(ladder, store, verification.Options{})
	if err != nil {
		return err
	}
	if err := seedWizard(ctx, svc); err != nil {
		return fmt.Errorf("wizard subject: %w", err)
	}
	start := time.Now()
	if err := seedAnswerSubjects(ctx, store, ladder.First().ID, *answers); err != nil {
		return fmt.Errorf("answer subjects: %w", err)
	}
	fmt.Fprintf(os.Stderr, "seed: %d answer subjects in %v\n", *answers, time.Since(start).Round(time.Millisecond))
	fmt.Println(WizardIdentifier)
	return nil
}

// seedWizard creates a subject at Level 1 (its Level 1 answers approved)
// and opens its Level 2 wizard, which then waits at the passport step.
func seedWizard(ctx context.Context, svc *verification.Service) error {
	sub, err := svc.CreateSubject(ctx, verification.CreateSubjectParams{Identifier: WizardIdentifier})
	if err != nil {
		return err
	}
	for _, a := range []struct{ name, value string }{
		{"isBusiness", `false`}, {"nationality", `"NL"`}, {"emailCode", `"123456"`},
	} {
		if _, err := svc.Answer(ctx, sub.ID, a.name, json.RawMessage(a.value)); err != nil {
			return fmt.Errorf("answer %s: %w", a.name, err)
		}
	}
	if _, err := svc.SetRequirement(ctx, verification.AdminActor(1, nil), verification.SetRequirementParams{SubjectID: sub.ID, Requirement: "emailCode"}); err != nil {
		return fmt.Errorf("approve emailCode: %w", err)
	}
	step, err := svc.InitWizard(ctx, sub.ID)
	if err != nil {
		return err
	}
	if step.Done() || step.Requirement == "" {
		return fmt.Errorf("the wizard should wait at a document step, got stage %q requirement %q", step.Stage, step.Requirement)
	}
	return nil
}

// seedAnswerSubjects inserts n subjects at level through the Store, in
// transactions of 50,000.
func seedAnswerSubjects(ctx context.Context, store verification.Store, level, n int) error {
	now := time.Now().UTC().Truncate(time.Microsecond)
	const batch = 50_000
	for lo := 0; lo < n; lo += batch {
		err := store.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			for i := lo; i < lo+batch && i < n; i++ {
				s := verification.Subject{Identifier: fmt.Sprintf(answerFormat, i), Level: level, CreatedAt: now, UpdatedAt: now}
				if err := tx.CreateSubject(ctx, &s); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
