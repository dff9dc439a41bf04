package sqlite

import (
	"database/sql"
	"database/sql/driver"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
)

// TestAssign covers assign, liteRows.Scan's conversions for the
// destinations it does not read directly (and the rules those follow):
// each must give what *sql.Rows.Scan gives for the same value, and refuse
// what it refuses.
func TestAssign(t *testing.T) {
	t.Parallel()
	type named int
	cases := []struct {
		name string
		dest func() any
		src  driver.Value
		want any
		err  bool
	}{
		{"int64", func() any { return new(int64) }, int64(-7), int64(-7), false},
		{"int", func() any { return new(int) }, int64(42), 42, false},
		{"bool true", func() any { return new(bool) }, int64(1), true, false},
		{"bool false", func() any { return new(bool) }, int64(0), false, false},
		{"bool out of range", func() any { return new(bool) }, int64(2), nil, true},
		{"string", func() any { return new(string) }, "abc", "abc", false},
		{"string from bytes", func() any { return new(string) }, []byte("xyz"), "xyz", false},
		{"named string", func() any { return new(verification.ApplicationStatus) }, "submitted", verification.ApplicationSubmitted, false},
		{"named int", func() any { return new(named) }, int64(3), named(3), false},
		{"null string valid", func() any { return new(sql.NullString) }, "v", sql.NullString{String: "v", Valid: true}, false},
		{"null string null", func() any { return new(sql.NullString) }, nil, sql.NullString{}, false},
		{"null int valid", func() any { return new(sql.NullInt64) }, int64(9), sql.NullInt64{Int64: 9, Valid: true}, false},
		{"null int null", func() any { return new(sql.NullInt64) }, nil, sql.NullInt64{}, false},
		{"NULL into int64", func() any { return new(int64) }, nil, nil, true},
		{"NULL into string", func() any { return new(string) }, nil, nil, true},
		{"text into int64", func() any { return new(int64) }, "12", nil, true},
		{"unsupported destination", func() any { return new(float32) }, int64(1), nil, true},
		{"not a pointer", func() any { return 5 }, int64(1), nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := tc.dest()
			err := assign(d, tc.src)
			if tc.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, deref(d))
		})
	}
}

// deref is what the destination pointer p points to.
func deref(p any) any { return reflect.ValueOf(p).Elem().Interface() }
