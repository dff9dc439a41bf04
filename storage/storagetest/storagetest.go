// Package storagetest is the conformance suite for verification.Store: the
// executable form of the contracts written in the doc comments of
// verification/store.go. Every store runs it (memory, sqlite, postgres, and
// any store a host writes for itself):
//
//	func TestStore(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) verification.Store {
//			s, err := mystore.Open(...) // a fresh, empty store
//			require.NoError(t, err)
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The factory is called once per subtest with that subtest's *testing.T and
// must return a new, empty store; releasing it (t.Cleanup) is the factory's
// job. Subtests call t.Parallel, so the factory must be safe for concurrent
// use (a new database, file or schema per call).
//
// Run runs every part; RunSubjects, RunGrants and the other Run* functions
// run one aggregate each, so an implementer can make one part pass at a time.
//
// What the suite assumes of every store, beyond the doc comments:
//   - timestamps come back exactly as given: UTC (time.UTC location), to the
//     microsecond, and a zero time.Time comes back as the zero time.Time;
//   - nil and empty slices (tags, steps, files, JSON answers) are both "none":
//     the suite checks their length, never whether they are nil;
//   - JSON values (answers, event data) are compared as JSON, so a store may
//     re-encode them (PostgreSQL jsonb reorders keys and drops spaces);
//   - strings are compared byte-wise: ListRequirementStates orders names as
//     Go does (COLLATE "C" in PostgreSQL, the default BINARY in SQLite), and
//     identifiers, UUIDs and IDs match exactly (case-sensitive);
//   - InTx calls fn on the calling goroutine and re-panics a panic from fn
//     after rolling back.
//
// The concurrency part (RunConcurrency) is meant to run under the race
// detector: go test -race.
package storagetest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
)

// Run runs every part of the suite against the stores newStore returns. See
// the package documentation for what newStore must do.
func Run(t *testing.T, newStore func(t *testing.T) verification.Store) {
	t.Helper()
	parts := []struct {
		name string
		run  func(*testing.T, func(*testing.T) verification.Store)
	}{
		{"Subjects", RunSubjects},
		{"RequirementStates", RunRequirementStates},
		{"Reviews", RunReviews},
		{"Grants", RunGrants},
		{"Applications", RunApplications},
		{"Files", RunFiles},
		{"IDSessions", RunIDSessions},
		{"Events", RunEvents},
		{"Transactions", RunTransactions},
		{"Concurrency", RunConcurrency},
		{"Outbox", RunOutbox},
		{"Idempotency", RunIdempotency},
		{"Maintenance", RunMaintenance},
		{"Audit", RunAudit},
		{"Providers", RunProviders},
		{"QueueStats", RunQueueStats},
		{"Reads", RunReads},
	}
	for _, p := range parts {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			p.run(t, newStore)
		})
	}
}

// test runs fn as a parallel subtest on a fresh store.
func test(t *testing.T, newStore func(*testing.T) verification.Store, name string, fn func(t *testing.T, s verification.Store)) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		require.NotNil(t, s, "storagetest: the newStore factory returned nil")
		fn(t, s)
	})
}

// base is the suite's reference time: UTC, with a microsecond part so that
// a store that drops sub-second precision (or rounds to milliseconds) fails.
var base = time.Date(2024, time.January, 15, 12, 0, 0, 123456000, time.UTC)

// at returns base plus n minutes.
func at(n int) time.Time { return base.Add(time.Duration(n) * time.Minute) }

// ident returns a valid subject identifier (36+ alphanumeric characters)
// starting with name, which must be alphanumeric.
func ident(name string) string {
	if len(name) >= 36 {
		return name
	}
	return name + strings.Repeat("0", 36-len(name))
}

// cancelledContext returns a context that is already cancelled.
func cancelledContext(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx
}

// newSubject creates a subject with the given name (see ident) and tags.
func newSubject(t *testing.T, s verification.Store, name string, tags ...string) verification.Subject {
	t.Helper()
	sub := verification.Subject{Identifier: ident(name), Tags: tags, CreatedAt: at(0), UpdatedAt: at(0)}
	require.NoError(t, s.CreateSubject(t.Context(), &sub), "CreateSubject(%s)", sub.Identifier)
	require.Positive(t, sub.ID, "CreateSubject must assign a positive ID")
	return sub
}

// addGrant adds a grant moving subjectID to level lvl (from prev, 0 for none).
func addGrant(t *testing.T, s verification.Store, subjectID int64, prev, lvl int, minute int) verification.Grant {
	t.Helper()
	g := verification.Grant{
		SubjectID: subjectID,
		Level:     verification.LevelRef{ID: lvl, Name: levelName(lvl)},
		Reason:    "created",
		CreatedAt: at(minute),
	}
	if prev != 0 {
		g.Previous = &verification.LevelRef{ID: prev, Name: levelName(prev)}
		g.Reason = "Application: 838"
		g.AdminID = 42
	}
	require.NoError(t, s.AddGrant(t.Context(), &g), "AddGrant for subject %d", subjectID)
	require.Positive(t, g.ID, "AddGrant must assign a positive ID")
	return g
}

func levelName(id int) string { return fmt.Sprintf("Level %d", id) }

// ---- comparisons: nil and empty slices are both "none"; JSON as JSON.

func normSubject(s verification.Subject) verification.Subject {
	if len(s.Tags) == 0 {
		s.Tags = nil
	}
	return s
}

func requireSubject(t *testing.T, want, got verification.Subject, what string) {
	t.Helper()
	require.Equal(t, normSubject(want), normSubject(got), "%s: the subject read back differs from the one written (times must be UTC, microsecond precision)", what)
}

func requireJSON(t *testing.T, want, got json.RawMessage, what string) {
	t.Helper()
	if len(want) == 0 {
		require.Empty(t, got, "%s: no JSON was stored, so none must come back (got %q)", what, got)
		return
	}
	require.JSONEq(t, string(want), string(got), "%s: the JSON read back differs from the one written", what)
}

func requireState(t *testing.T, want, got verification.RequirementState, what string) {
	t.Helper()
	requireJSON(t, want.Answer, got.Answer, what+": Answer")
	want.Answer, got.Answer = nil, nil
	require.Equal(t, want, got, "%s: the requirement state read back differs from the one written", what)
}

func requireGrant(t *testing.T, want, got verification.Grant, what string) {
	t.Helper()
	require.Equal(t, want, got, "%s: the grant read back differs from the one written", what)
}

func grantIDs(gs []verification.Grant) []int64 {
	ids := make([]int64, len(gs))
	for i, g := range gs {
		ids[i] = g.ID
	}
	return ids
}

func normApp(a verification.Application) verification.Application {
	if len(a.Steps) == 0 {
		a.Steps = nil
		return a
	}
	steps := make([]verification.Step, len(a.Steps))
	for i, st := range a.Steps {
		if len(st.Files) == 0 {
			st.Files = nil
		}
		steps[i] = st
	}
	a.Steps = steps
	return a
}

func requireApp(t *testing.T, want, got verification.Application, what string) {
	t.Helper()
	require.Equal(t, normApp(want), normApp(got), "%s: the application read back differs from the one written", what)
}

func appIDs(as []verification.Application) []int64 {
	ids := make([]int64, len(as))
	for i, a := range as {
		ids[i] = a.ID
	}
	return ids
}

func fileIDs(fs []verification.File) []string {
	ids := make([]string, len(fs))
	for i, f := range fs {
		ids[i] = f.ID
	}
	return ids
}

func sessionIDs(ss []verification.IDSession) []string {
	ids := make([]string, len(ss))
	for i, s := range ss {
		ids[i] = s.ID
	}
	return ids
}

func requireEvent(t *testing.T, want, got verification.Event, what string) {
	t.Helper()
	requireJSON(t, want.Data, got.Data, what+": Data")
	want.Data, got.Data = nil, nil
	require.Equal(t, want, got, "%s: the event read back differs from the one written", what)
}

func eventIDs(es []verification.Event) []string {
	ids := make([]string, len(es))
	for i, e := range es {
		ids[i] = e.ID
	}
	return ids
}
