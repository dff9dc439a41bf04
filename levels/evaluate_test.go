package levels_test

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/levels"
)

// statusGolden is seed 000's example response of
// GET /api/v2/user/verification-status, copied verbatim from the seed. It is
// the contract, so unlike golden files written from the code's own output it
// has no -update flag: the code must match it, never the reverse.
const statusGolden = "testdata/status_seed000.golden.json"

var (
	level0 = levels.Level{ID: 1, Name: "Level 0"}
	level1 = levels.Level{ID: 2, Name: "Level 1"}
	level2 = levels.Level{ID: 3, Name: "Level 2"}
)

type outstanding struct {
	name   string
	status levels.Status
}

// summary reduces a Result's Outstanding to names and statuses.
func summary(res levels.Result) []outstanding {
	out := []outstanding{}
	for _, o := range res.Outstanding {
		out = append(out, outstanding{o.Name, o.Status})
	}
	return out
}

func TestEvaluateSeedGolden(t *testing.T) {
	t.Parallel()

	l := seedLadder(t)
	want, err := os.ReadFile(statusGolden)
	require.NoError(t, err)

	res := l.Evaluate(levels.States{"emailCode": levels.Pending, "verificationFlag": levels.Pending}, 0)
	got, err := json.Marshal(res.Outstanding)
	require.NoError(t, err)
	require.JSONEq(t, string(want), string(got))
	require.Equal(t, level0, res.Level)
	require.False(t, res.Verified())
}

func TestEvaluate(t *testing.T) {
	t.Parallel()

	l := seedLadder(t)
	level1Done := levels.States{"isBusiness": levels.Approved, "emailCode": levels.Approved, "nationality": levels.Approved}
	all := levels.States{}
	for _, r := range l.RequirementsUpTo(l.Top().ID) {
		all[r.Name] = levels.Approved
	}
	missing := func(names ...string) []outstanding {
		out := []outstanding{}
		for _, n := range names {
			out = append(out, outstanding{n, levels.Missing})
		}
		return out
	}
	every := []string{"isBusiness", "emailCode", "nationality", "AMLD5Questions", "idDocument", "verificationFlag"}

	tests := []struct {
		name   string
		states levels.States
		target int
		level  levels.Level
		want   []outstanding
	}{
		{"nil states", nil, 0, level0, missing(every...)},
		{"empty states", levels.States{}, 0, level0, missing(every...)},
		{"empty status is missing", levels.States{"isBusiness": ""}, 0, level0, missing(every...)},
		{"explicit missing", levels.States{"nationality": levels.Missing}, 0, level0, missing(every...)},
		{"unknown names are ignored", levels.States{"nosuch": levels.Approved, "other": levels.Pending}, 0, level0, missing(every...)},
		{"all approved", all, 0, level2, missing()},
		{"level 1 approved", level1Done, 0, level1, missing("AMLD5Questions", "idDocument", "verificationFlag")},
		{"level 1 approved, level 2 in progress", levels.States{
			"isBusiness": levels.Approved, "emailCode": levels.Approved, "nationality": levels.Approved,
			"AMLD5Questions": levels.Approved, "idDocument": levels.Pending, "verificationFlag": levels.Rejected,
		}, 0, level1, []outstanding{{"idDocument", levels.Pending}, {"verificationFlag", levels.Rejected}}},
		{"rejected and pending are reported as such", levels.States{
			"isBusiness": levels.Approved, "emailCode": levels.Rejected, "nationality": levels.Pending,
		}, 0, level0, []outstanding{
			{"emailCode", levels.Rejected}, {"nationality", levels.Pending},
			{"AMLD5Questions", levels.Missing}, {"idDocument", levels.Missing}, {"verificationFlag", levels.Missing},
		}},
		{"approved higher level does not raise the level", levels.States{
			"isBusiness": levels.Approved, "emailCode": levels.Approved,
			"AMLD5Questions": levels.Approved, "idDocument": levels.Approved, "verificationFlag": levels.Approved,
		}, 0, level0, missing("nationality")},
		{"one missing first requirement holds everything", levels.States{
			"emailCode": levels.Approved, "nationality": levels.Approved,
			"AMLD5Questions": levels.Approved, "idDocument": levels.Approved, "verificationFlag": levels.Approved,
		}, 0, level0, missing("isBusiness")},

		// targets
		{"target top by id", nil, 3, level0, missing(every...)},
		{"target level 1 lists only level 1", nil, 2, level0, missing("isBusiness", "emailCode", "nationality")},
		{"target level 1 with pending", levels.States{"emailCode": levels.Pending, "verificationFlag": levels.Pending}, 2, level0, []outstanding{
			{"isBusiness", levels.Missing}, {"emailCode", levels.Pending}, {"nationality", levels.Missing},
		}},
		{"target level 1 reached", level1Done, 2, level1, missing()},
		{"target level 1 with everything approved", all, 2, level2, missing()},
		{"target level 1, level 2 approved but not level 1", levels.States{
			"isBusiness": levels.Approved, "AMLD5Questions": levels.Approved, "idDocument": levels.Approved, "verificationFlag": levels.Approved,
		}, 2, level0, missing("emailCode", "nationality")},
		{"target the first level", nil, 1, level0, missing()},
		{"target the first level, level 1 approved", level1Done, 1, level1, missing()},
		{"unknown target is the top", nil, 99, level0, missing(every...)},
		{"negative target is the top", level1Done, -2, level1, missing("AMLD5Questions", "idDocument", "verificationFlag")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := l.Evaluate(tt.states, tt.target)
			require.Equal(t, tt.level, res.Level)
			require.Equal(t, tt.want, summary(res))
			require.Equal(t, len(tt.want) == 0, res.Verified())
		})
	}
}

func TestEvaluateOutstandingShape(t *testing.T) {
	t.Parallel()

	l := seedLadder(t)

	t.Run("verified marshals as an empty array", func(t *testing.T) {
		t.Parallel()
		all := levels.States{}
		for _, r := range l.RequirementsUpTo(l.Top().ID) {
			all[r.Name] = levels.Approved
		}
		res := l.Evaluate(all, 0)
		require.True(t, res.Verified())
		require.NotNil(t, res.Outstanding)
		got, err := json.Marshal(res.Outstanding)
		require.NoError(t, err)
		require.Equal(t, "[]", string(got))
	})

	t.Run("items carry type and data", func(t *testing.T) {
		t.Parallel()
		res := l.Evaluate(levels.States{"nationality": levels.Rejected}, 2)
		require.Len(t, res.Outstanding, 3)
		item := res.Outstanding[2]
		assert.Equal(t, "nationality", item.Name)
		assert.Equal(t, levels.Choice, item.Type)
		assert.Equal(t, levels.Rejected, item.Status)
		got, err := json.Marshal(item)
		require.NoError(t, err)
		require.JSONEq(t, `{"name": "nationality", "type": "choice", "status": "rejected", "data": {"Netherlands": "NL", "German": "DE"}}`, string(got))

		got, err = json.Marshal(res.Outstanding[0])
		require.NoError(t, err)
		require.JSONEq(t, `{"name": "isBusiness", "type": "boolean", "status": "missing"}`, string(got))
	})

	t.Run("Evaluate does not modify states", func(t *testing.T) {
		t.Parallel()
		states := levels.States{"emailCode": levels.Pending}
		l.Evaluate(states, 0)
		require.Equal(t, levels.States{"emailCode": levels.Pending}, states)
	})
}

func TestEvaluateSingleLevelLadder(t *testing.T) {
	t.Parallel()

	l, err := levels.New([]levels.Level{{ID: 5, Name: "Basic"}})
	require.NoError(t, err)
	res := l.Evaluate(nil, 0)
	require.True(t, res.Verified())
	require.Equal(t, levels.Level{ID: 5, Name: "Basic"}, res.Level)
}

func TestStatusValid(t *testing.T) {
	t.Parallel()

	for _, s := range []levels.Status{levels.Missing, levels.Pending, levels.Rejected, levels.Approved} {
		assert.True(t, s.Valid(), s)
	}
	for _, s := range []levels.Status{"", "Approved", "expired", "review"} {
		assert.False(t, s.Valid(), s)
	}
}
