package sqlite

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/levels"
)

func TestParseStatuses(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, packed string
		want         levels.States
		final        []string
		err          bool
	}{
		{"none", "", levels.States{}, nil, false},
		{"one", "5:emaila", levels.States{"email": levels.Approved}, nil, false},
		{"all four", "1:am1:bp1:cr1:da", levels.States{"a": levels.Missing, "b": levels.Pending, "c": levels.Rejected, "d": levels.Approved}, nil, false},
		{"final", "1:aR1:bp1:cA", levels.States{"a": levels.Rejected, "b": levels.Pending, "c": levels.Approved}, []string{"a", "c"}, false},
		{"separators in a name", "4:1:2pa", levels.States{"1:2p": levels.Approved}, nil, false},
		{"multi-byte name", "3:äxp", levels.States{"äx": levels.Pending}, nil, false},
		{"no length", ":emaila", nil, nil, true},
		{"not a number", "x:emaila", nil, nil, true},
		{"too long", "9:emaila", nil, nil, true},
		{"no status", "5:email", nil, nil, true},
		{"unknown status", "5:emailz", nil, nil, true},
		{"unknown final status", "5:emailZ", nil, nil, true},
		{"no colon", "5email", nil, nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, final, err := parseStatuses(c.packed)
			if c.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.want, got)
			require.Equal(t, c.final, final)
		})
	}
}
