package documents

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTypeValidate(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		typ     Type
		wantErr string
	}{
		{name: "valid", typ: Type{ID: 1, Name: "passport", Sides: []string{"front"}}},
		{name: "two sides", typ: Type{ID: 2, Name: "id_card", Sides: []string{"front", "back"}}},
		{name: "zero id", typ: Type{Name: "passport", Sides: []string{"front"}}, wantErr: "id must be a positive integer"},
		{name: "negative id", typ: Type{ID: -1, Name: "passport", Sides: []string{"front"}}, wantErr: "id must be a positive integer"},
		{name: "no name", typ: Type{ID: 1, Sides: []string{"front"}}, wantErr: "name is required"},
		{name: "no sides", typ: Type{ID: 1, Name: "passport"}, wantErr: "at least one side"},
		{name: "empty side", typ: Type{ID: 1, Name: "passport", Sides: []string{"front", ""}}, wantErr: "empty side name"},
		{name: "duplicate side", typ: Type{ID: 1, Name: "passport", Sides: []string{"front", "front"}}, wantErr: `duplicate side "front"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.typ.Validate()
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestTypeHasSide(t *testing.T) {
	t.Parallel()

	typ := Type{ID: 2, Name: "id_card", Sides: []string{"front", "back"}}
	require.True(t, typ.HasSide("front"))
	require.True(t, typ.HasSide("back"))
	require.False(t, typ.HasSide("face"))
	require.False(t, typ.HasSide(""))
}
