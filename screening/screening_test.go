package screening_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/screening"
)

func TestQueryValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		query screening.Query
		want  string // "" when valid, else a fragment of the error
	}{
		{"name only", screening.Query{FullName: "Ada Quill"}, ""},
		{"every field", screening.Query{FullName: "Ada Quill", BirthDate: time.Date(1980, 1, 2, 0, 0, 0, 0, time.UTC), Country: "nl"}, ""},
		{"non-latin name", screening.Query{FullName: "Зоя Квиль"}, ""},
		{"empty name", screening.Query{}, "full name is empty"},
		{"blank name", screening.Query{FullName: " \t"}, "full name is empty"},
		{"punctuation only", screening.Query{FullName: "-- ..."}, "no letters"},
		{"three-letter country", screening.Query{FullName: "Ada Quill", Country: "NLD"}, "alpha-2"},
		{"digit country", screening.Query{FullName: "Ada Quill", Country: "N1"}, "alpha-2"},
		{"non-ascii country", screening.Query{FullName: "Ada Quill", Country: "ÑL"}, "alpha-2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.query.Validate()
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, screening.ErrInvalidQuery)
			assert.Contains(t, err.Error(), tt.want)
			if tt.query.FullName != "" {
				assert.NotContains(t, err.Error(), tt.query.FullName, "errors never carry the name")
			}
		})
	}
}

func TestQueryAccessors(t *testing.T) {
	t.Parallel()
	q := screening.Query{FullName: "Ada Quill", Country: " nl "}
	assert.False(t, q.HasBirthDate())
	assert.Empty(t, q.BirthDateString())
	assert.Equal(t, "NL", q.CountryCode())

	// The calendar date is read in the time's own location, not converted.
	q.BirthDate = time.Date(1980, 2, 29, 23, 30, 0, 0, time.FixedZone("UTC-5", -5*3600))
	assert.True(t, q.HasBirthDate())
	assert.Equal(t, "1980-02-29", q.BirthDateString())
}

func TestDecide(t *testing.T) {
	t.Parallel()
	hits := func(scores ...float64) screening.Result {
		var r screening.Result
		for i, s := range scores {
			r.Hits = append(r.Hits, screening.Hit{List: "l", EntityID: string(rune('a' + i)), Score: s})
		}
		return r
	}
	tests := []struct {
		name      string
		result    screening.Result
		threshold float64
		want      screening.Outcome
		above     int
	}{
		{"no hit", hits(), 0.9, screening.Clear, 0},
		{"hit below", hits(0.89), 0.9, screening.Clear, 0},
		{"hit at threshold", hits(0.9), 0.9, screening.NeedsReview, 1},
		{"one of several above", hits(0.5, 0.95, 0.7), 0.9, screening.NeedsReview, 1},
		{"zero threshold: any hit", hits(0.01), 0, screening.NeedsReview, 1},
		{"negative threshold counts as zero", hits(0.0), -1, screening.NeedsReview, 1},
		{"NaN threshold counts as zero", hits(0.2), math.NaN(), screening.NeedsReview, 1},
		{"threshold above 1 counts as 1: exact hit reviewed", hits(1, 0.99), 7, screening.NeedsReview, 1},
		{"no hit with NaN threshold", hits(), math.NaN(), screening.Clear, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, screening.Decide(tt.result, tt.threshold))
			assert.Len(t, tt.result.Above(tt.threshold), tt.above)
		})
	}
}

func TestRun(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		query   screening.Query
		answer  screening.Result
		fail    error
		wantErr error
		want    []string // hit keys in order
	}{
		{
			name:   "sorted best first, ties by list then id",
			query:  screening.Query{FullName: "Ada Quill"},
			answer: screening.Result{ListVersion: "v1", Hits: []screening.Hit{{List: "b", EntityID: "1", Score: 0.8}, {List: "a", EntityID: "2", Score: 0.95}, {List: "a", EntityID: "1", Score: 0.8}}},
			want:   []string{"a/2", "a/1", "b/1"},
		},
		{
			name:    "invalid query never reaches the screener",
			query:   screening.Query{FullName: ""},
			fail:    errors.New("must not be called"),
			wantErr: screening.ErrInvalidQuery,
		},
		{
			name:    "screener error passes through",
			query:   screening.Query{FullName: "Ada Quill"},
			fail:    screening.ErrUnavailable,
			wantErr: screening.ErrUnavailable,
		},
		{
			name:    "score above 1 refused",
			query:   screening.Query{FullName: "Ada Quill"},
			answer:  screening.Result{Hits: []screening.Hit{{List: "a", EntityID: "1", Score: 1.2}}},
			wantErr: screening.ErrBadAnswer,
		},
		{
			name:    "NaN score refused",
			query:   screening.Query{FullName: "Ada Quill"},
			answer:  screening.Result{Hits: []screening.Hit{{List: "a", EntityID: "1", Score: math.NaN()}}},
			wantErr: screening.ErrBadAnswer,
		},
		{
			name:    "hit without entity id refused",
			query:   screening.Query{FullName: "Ada Quill"},
			answer:  screening.Result{Hits: []screening.Hit{{List: "a", Score: 0.5}}},
			wantErr: screening.ErrBadAnswer,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			called := false
			s := screening.ScreenerFunc(func(_ context.Context, q screening.Query) (screening.Result, error) {
				called = true
				assert.Equal(t, tt.query, q)
				if tt.fail != nil {
					return screening.Result{}, tt.fail
				}
				return tt.answer, nil
			})
			res, err := screening.Run(context.Background(), s, tt.query, at)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				if errors.Is(tt.wantErr, screening.ErrInvalidQuery) {
					assert.False(t, called)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, at, res.ScreenedAt)
			assert.Equal(t, tt.answer.ListVersion, res.ListVersion)
			var keys []string
			for _, h := range res.Hits {
				keys = append(keys, h.Key())
			}
			assert.Equal(t, tt.want, keys)
		})
	}
}
