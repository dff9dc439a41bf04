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
		err          bool
	}{
		{"none", "", levels.States{}, false},
		{"one", "5:emaila", levels.States{"email": levels.Approved}, false},
		{"all four", "1:am1:bp1:cr1:da", levels.States{"a": levels.Missing, "b": levels.Pending, "c": levels.Rejected, "d": levels.Approved}, false},
		{"separators in a name", "4:1:2pa", levels.States{"1:2p": levels.Approved}, false},
		{"multi-byte name", "3:äxp", levels.States{"äx": levels.Pending}, false},
		{"no length", ":emaila", nil, true},
		{"not a number", "x:emaila", nil, true},
		{"too long", "9:emaila", nil, true},
		{"no status", "5:email", nil, true},
		{"unknown status", "5:emailz", nil, true},
		{"no colon", "5email", nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseStatuses(c.packed)
			if c.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.want, got)
		})
	}
}
