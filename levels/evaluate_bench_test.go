package levels_test

import (
	"testing"

	"github.com/openkyc/kyc/levels"
)

// BenchmarkEvaluate measures the status route's hot path on seed 000's
// ladder for a subject half-way through: level 1 partly approved, a code and
// a document pending, the rest missing. The design target is under a
// microsecond per call.
func BenchmarkEvaluate(b *testing.B) {
	l := seedLadder(b)
	states := levels.States{
		"isBusiness":     levels.Approved,
		"emailCode":      levels.Pending,
		"nationality":    levels.Approved,
		"AMLD5Questions": levels.Approved,
		"idDocument":     levels.Pending,
	}
	b.Run("top", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = l.Evaluate(states, 0)
		}
	})
	b.Run("verified", func(b *testing.B) {
		all := levels.States{}
		for _, r := range l.RequirementsUpTo(l.Top().ID) {
			all[r.Name] = levels.Approved
		}
		b.ReportAllocs()
		for b.Loop() {
			_ = l.Evaluate(all, 0)
		}
	})
}
