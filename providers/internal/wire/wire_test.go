package wire_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/providers/internal/wire"
)

func TestString(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`"a"`: "a", `null`: "", `102`: "102", `9001.5`: "9001.5", `true`: "true",
		`{"value":"PASSPORT","confidenceCategory":"high"}`: "PASSPORT",
		`{"value":null}`: "", `{"confidenceCategory":"low"}`: "", `{"value":7}`: "7",
	} {
		var s wire.String
		require.NoError(t, json.Unmarshal([]byte(in), &s), in)
		assert.Equal(t, want, string(s), in)
	}
	for _, in := range []string{`["a"]`, `{"value":["a"]}`, `{`} {
		var s wire.String
		require.Error(t, json.Unmarshal([]byte(in), &s), in)
	}
}

func TestStringsPlain(t *testing.T) {
	t.Parallel()
	var l wire.Strings
	require.NoError(t, json.Unmarshal([]byte(`["A", "", " B ", 3, null]`), &l))
	assert.Equal(t, []string{"A", "B", "3"}, l.Plain())
	assert.Nil(t, wire.Strings(nil).Plain())
}

func TestTimeAndDate(t *testing.T) {
	t.Parallel()
	got, err := wire.Time("2019-11-06T07:18:36.916+02:00")
	require.NoError(t, err)
	assert.Equal(t, time.Date(2019, 11, 6, 5, 18, 36, 916e6, time.UTC), got)
	got, err = wire.Time("")
	require.NoError(t, err)
	assert.True(t, got.IsZero())
	_, err = wire.Time("2019-11-06 07:18:36")
	require.Error(t, err)
	assert.Equal(t, time.Date(2022, 4, 20, 0, 0, 0, 0, time.UTC), wire.Date("2022-04-20"))
	assert.True(t, wire.Date("20/04/2022").IsZero())
	assert.True(t, wire.Date("").IsZero())
}
