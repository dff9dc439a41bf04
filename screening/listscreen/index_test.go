package listscreen

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/screening"
)

// linearScreen is the reference: the documented score computed for every
// name of the list, every word pair with the same block key compared with
// Jaro-Winkler directly, no index, no postings, no length bound.
func linearScreen(l *List, q screening.Query) []screening.Hit {
	s := l.pool.New().(*scratch)
	s.beginScreen()
	words := uniqueWords(tokens(Normalize(q.FullName)))
	forms := [][]string{words}
	if g := glue(words); g != nil {
		forms = append(forms, g)
	}
	best := map[uint32]candidate{}
	for _, form := range forms {
		s.beginPass(len(form))
		for i, w := range form {
			qw := &s.query[i]
			qw.text, qw.runes = w, len([]rune(w))
			for id := range l.vocab {
				if !shareKey(blockKeys(w), blockKeys(l.vocab[id].text)) {
					continue
				}
				if sim := jaroWinkler.Compare(w, l.vocab[id].text); sim >= tokenFloor {
					qw.matches = append(qw.matches, wordMatch{id: uint32(id), sim: sim})
				}
			}
		}
		for i := range s.order {
			s.order[i] = i
		}
		slices.SortStableFunc(s.order, func(a, b int) int { return s.query[b].runes - s.query[a].runes })
		for v := range l.variants {
			score := l.nameScore(s, &l.variants[v])
			e := l.variants[v].entry
			if c, ok := best[e]; score >= l.opts.MinScore && (!ok || score > c.score) {
				best[e] = candidate{score, uint32(v)}
			}
		}
	}
	var hits []screening.Hit
	for e, c := range best {
		score, ok := refine(c.score, q, &l.entries[e])
		if ok && score >= l.opts.MinScore {
			hits = append(hits, screening.Hit{List: l.opts.Name, EntityID: l.entries[e].id, Name: l.variants[c.variant].display, Score: score, Programmes: l.entries[e].programmes})
		}
	}
	screening.SortHits(hits)
	if len(hits) > l.opts.Limit {
		hits = hits[:l.opts.Limit]
	}
	return hits
}

// TestIndexMatchesLinearScan: the index (block keys, postings, candidate
// marks, the length bound, pooled scratch) finds exactly what comparing the
// query with every name of the list finds.
func TestIndexMatchesLinearScan(t *testing.T) {
	t.Parallel()
	gen := newSynth(7, 150, 600)
	file, people := gen.csv(1500)
	l, err := Load(strings.NewReader(file), Options{MinScore: 0.6, Limit: 50})
	require.NoError(t, err)
	queries, _ := gen.queries(300, people)
	found := 0
	for _, q := range queries {
		res, err := l.Screen(context.Background(), q)
		require.NoError(t, err)
		want := linearScreen(l, q)
		require.Equal(t, len(want), len(res.Hits), "query %q", q.FullName)
		for i := range want {
			require.Equal(t, want[i].EntityID, res.Hits[i].EntityID, "query %q hit %d", q.FullName, i)
			require.InDelta(t, want[i].Score, res.Hits[i].Score, 1e-12, "query %q hit %d", q.FullName, i)
			require.Equal(t, want[i].Name, res.Hits[i].Name)
		}
		found += len(want)
	}
	require.Greater(t, found, 100, "the synthetic queries must produce hits for the comparison to mean something")
}

// TestSynthRecall: spelling variants of listed people are found at the
// policy threshold.
func TestSynthRecall(t *testing.T) {
	t.Parallel()
	gen := newSynth(11, 300, 2000)
	file, people := gen.csv(3000)
	l, err := Load(strings.NewReader(file), Options{})
	require.NoError(t, err)
	missed := 0
	for i := range 300 {
		p := people[i*7%len(people)]
		q := screening.Query{FullName: strings.Join(gen.mutate(p.words), " ")}
		res, err := l.Screen(context.Background(), q)
		require.NoError(t, err)
		if !slices.ContainsFunc(res.Above(0.85), func(h screening.Hit) bool { return h.EntityID == l.entries[i*7%len(people)].id }) {
			missed++
		}
	}
	require.Less(t, missed, 15, "more than 5%% of one-edit variants missed")
}
