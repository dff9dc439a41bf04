package listscreen_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/screening"
	"github.com/openkyc/kyc/screening/listscreen"
)

func fixture(t *testing.T, opts listscreen.Options) *listscreen.List {
	t.Helper()
	l, err := listscreen.LoadFile(filepath.Join("testdata", "fictitious.csv"), opts)
	require.NoError(t, err)
	return l
}

func date(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestLoadFixture(t *testing.T) {
	t.Parallel()
	l := fixture(t, listscreen.Options{Name: "fict"})
	assert.Equal(t, 20, l.Len())
	assert.Equal(t, "fict", l.Name())
	v, err := l.ListVersion(context.Background())
	require.NoError(t, err)
	assert.Regexp(t, `^sha256:[0-9a-f]{64}$`, v)

	// The same bytes give the same version; one changed byte another.
	raw, err := os.ReadFile(filepath.Join("testdata", "fictitious.csv"))
	require.NoError(t, err)
	again, err := listscreen.Load(strings.NewReader(string(raw)), listscreen.Options{})
	require.NoError(t, err)
	v2, _ := again.ListVersion(context.Background())
	assert.Equal(t, v, v2)
	edited, err := listscreen.Load(strings.NewReader(strings.Replace(string(raw), "1968-05-17", "1968-05-18", 1)), listscreen.Options{})
	require.NoError(t, err)
	v3, _ := edited.ListVersion(context.Background())
	assert.NotEqual(t, v, v3)
}

// TestMatches: spellings a reviewer must see reach the default threshold,
// with the right entry first.
func TestMatches(t *testing.T) {
	t.Parallel()
	l := fixture(t, listscreen.Options{})
	tests := []struct {
		name   string
		query  string
		entity string
		hit    string // the list name that matched
	}{
		{"exact", "Orlando Veskari Tremaine", "FX-001", "Orlando Veskari Tremaine"},
		{"accents dropped", "Jose Nandubay Quiros", "FX-002", "José Ñandúbay Quirós"},
		{"family name first, with a comma", "QUIRÓS, José Ñandúbay", "FX-002", "José Ñandúbay Quirós"},
		{"transliteration of the given name", "Mohamed Al-Qarsuni", "FX-004", "Mohammed Al Qarsuni"},
		{"particle glued", "Muhammad Alqarsuni", "FX-004", "Muhammad al-Qarsuni"},
		{"Elena for Yelena", "Elena Sorokhtina", "FX-008", "Elena Sorokhtina"},
		{"ø and å spelled plainly", "Soren Olvigsgaard", "FX-009", "Søren Ølvigsgaard"},
		{"dotless i and soft g", "Ekrem Yildizoglu", "FX-013", "Ekrem Yıldızoğlu"},
		{"double acute", "Zoltan Korosfalvi", "FX-015", "Zoltán Kőrösfalvi"},
		{"Vietnamese without tone marks", "Nguyen Van Thuong Lac", "FX-010", "Nguyễn Văn Thương Lạc"},
		{"alias", "Orlando Tremaine", "FX-001", "Orlando Tremaine"},
		{"middle name missing", "Orlando Veskari", "FX-001", "Orlando Veskari Tremaine"},
		{"patronymic missing, y for i", "Vladislav Gromadskiy", "FX-016", "Vladislav Pyotrovich Gromadsky"},
		{"w for v", "Wladislaw Gromadsky", "FX-016", "Wladyslaw Gromadski"},
		{"kh for ch", "Mikhail Drawenko", "FX-003", "Michail Drawenko"},
		{"one letter off", "Baltazar Ferreyra", "FX-014", "Baltasar Ferreira"},
		{"hyphenated given name split", "Anna Lena Kowalczyk", "FX-007", "Anna-Lena Kowalczyk-Wręb"},
		{"typo", "Seun Kinter", "FX-017", "Seun Kintner"},
		{"derived id", "Marisol Vantongeren", "marisol-vantongeren-1987-09-17", "Marisol Vantongeren"},
		{"derived id with country", "Dariush Khoramshahi", "darius-khorramshahi-velde-1964-01-15-ir", "Dariush Khorramshahi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := l.Screen(context.Background(), screening.Query{FullName: tt.query})
			require.NoError(t, err)
			require.NotEmpty(t, res.Hits)
			top := res.Hits[0]
			assert.Equal(t, tt.entity, top.EntityID)
			assert.Equal(t, tt.hit, top.Name)
			assert.Equal(t, "local", top.List)
			assert.GreaterOrEqual(t, top.Score, screening.DefaultThreshold, "score %.3f", top.Score)
			assert.Equal(t, screening.NeedsReview, screening.Decide(res, screening.DefaultThreshold))
		})
	}
}

// TestFalsePositives: names that share a word or a look with an entry but
// are someone else stay below the threshold; most are not even hits.
func TestFalsePositives(t *testing.T) {
	t.Parallel()
	l := fixture(t, listscreen.Options{})
	tests := []struct {
		query  string
		noHits bool // below MinScore too
	}{
		{"Marek Kowalczyk", true},    // family name of FX-007, other given name
		{"Orlando Bloomfield", true}, // given name of FX-001
		{"Zoltan Kovacs", true},      // given name of FX-015
		{"Muhammad Qasim", true},     // given name of FX-004, other family name
		{"Jose Quintero", true},      // like FX-002's alias Pepe Quiros
		{"Siobhan Quinn", true},      // one letter pair from FX-012's alias, other sound
		{"Maria Vandenberg", true},   // looks like Marisol Vantongeren
		{"Ekrem Yilmaz", true},       // given name of FX-013
		{"Soren Olsen", true},        // given name of FX-009
		{"Hans Grunberg", false},     // close to Hans-Dieter Grünwalder, yet below 0.90
		{"Teodor", false},            // one word: at most 0.85
		{"Zephyrine Oakhollow", true},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			t.Parallel()
			res, err := l.Screen(context.Background(), screening.Query{FullName: tt.query})
			require.NoError(t, err)
			assert.Equal(t, screening.Clear, screening.Decide(res, screening.DefaultThreshold), "hits: %+v", res.Hits)
			if tt.noHits {
				assert.Empty(t, res.Hits)
			}
			for _, h := range res.Hits {
				assert.GreaterOrEqual(t, h.Score, listscreen.DefaultMinScore)
			}
		})
	}
}

func TestBirthDateAndCountry(t *testing.T) {
	t.Parallel()
	l := fixture(t, listscreen.Options{})
	type want struct {
		entity string
		score  float64
	}
	tests := []struct {
		name  string
		query screening.Query
		want  []want
	}{
		{
			name:  "same name, no birth date: both entries",
			query: screening.Query{FullName: "Teodor Brankovic"},
			want:  []want{{"FX-005", 1}, {"FX-006", 1}},
		},
		{
			name:  "birth date picks one",
			query: screening.Query{FullName: "Teodor Brankovic", BirthDate: date("1961-04-12")},
			want:  []want{{"FX-005", 1}},
		},
		{
			name:  "the other birth date picks the other",
			query: screening.Query{FullName: "Teodor Brankovic", BirthDate: date("1979-09-30")},
			want:  []want{{"FX-006", 1}},
		},
		{
			name:  "a third birth date rules both out",
			query: screening.Query{FullName: "Teodor Brankovic", BirthDate: date("1990-01-01")},
		},
		{
			name:  "same birth date lifts a near match halfway to 1",
			query: screening.Query{FullName: "Teodora Brankovic", BirthDate: date("1961-04-12")},
			want:  []want{{"FX-005", 0.994}},
		},
		{
			name:  "entry without birth date: the query's date changes nothing",
			query: screening.Query{FullName: "Quillon Arbuthnaut", BirthDate: date("1950-01-01")},
			want:  []want{{"quillon-arbuthnaut", 1}},
		},
		{
			name:  "same country",
			query: screening.Query{FullName: "Orlando Veskari", Country: "nl"},
			want:  []want{{"FX-001", 0.985}},
		},
		{
			name:  "other country takes 0.10 off",
			query: screening.Query{FullName: "Orlando Veskari", Country: "BE"},
			want:  []want{{"FX-001", 0.88}},
		},
		{
			name:  "other country drops a weak match below MinScore",
			query: screening.Query{FullName: "Hans Grunberg", Country: "AT"},
		},
		{
			name:  "entry without country: the query's country changes nothing",
			query: screening.Query{FullName: "Marisol Vantongeren", Country: "ES"},
			want:  []want{{"marisol-vantongeren-1987-09-17", 1}},
		},
		{
			name:  "birth date and country together",
			query: screening.Query{FullName: "Baltazar Ferreyra", BirthDate: date("1980-02-29"), Country: "BR"},
			want:  []want{{"FX-014", 0.981}}, // 0.95 -> 0.975 -> 0.98125
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := l.Screen(context.Background(), tt.query)
			require.NoError(t, err)
			require.Len(t, res.Hits, len(tt.want), "hits: %+v", res.Hits)
			for i, w := range tt.want {
				assert.Equal(t, w.entity, res.Hits[i].EntityID)
				assert.InDelta(t, w.score, res.Hits[i].Score, 0.001)
			}
		})
	}
}

func TestHitFields(t *testing.T) {
	t.Parallel()
	l := fixture(t, listscreen.Options{Name: "fict"})
	res, err := l.Screen(context.Background(), screening.Query{FullName: "Pepe Quiros"})
	require.NoError(t, err)
	require.NotEmpty(t, res.Hits)
	assert.Equal(t, screening.Hit{List: "fict", EntityID: "FX-002", Name: "Pepe Quiros", Score: 1, Programmes: []string{"FICT-SANCTIONS", "FICT-PEP"}}, res.Hits[0])
	v, _ := l.ListVersion(context.Background())
	assert.Equal(t, v, res.ListVersion)
	assert.True(t, res.ScreenedAt.IsZero())

	// Programmes are the caller's to change.
	res.Hits[0].Programmes[0] = "changed"
	again, err := l.Screen(context.Background(), screening.Query{FullName: "Pepe Quiros"})
	require.NoError(t, err)
	assert.Equal(t, "FICT-SANCTIONS", again.Hits[0].Programmes[0])
}

func TestOrderAndSpellingInsensitive(t *testing.T) {
	t.Parallel()
	l := fixture(t, listscreen.Options{MinScore: 0.5, Limit: 50})
	forms := [][]string{
		{"Anna Lena Kowalczyk Wreb", "Wreb Kowalczyk Anna Lena", "KOWALCZYK-WRĘB, Anna-Lena", "anna  lena\tkowalczyk wręb"},
		{"Soren Olvigsgaard", "Ølvigsgaard, Søren", "SØREN ØLVIGSGAARD"},
		{"Hans Grunberg", "Grunberg Hans", "Hans Grünberg"},
	}
	for _, group := range forms {
		first, err := l.Screen(context.Background(), screening.Query{FullName: group[0]})
		require.NoError(t, err)
		require.NotEmpty(t, first.Hits)
		for _, other := range group[1:] {
			res, err := l.Screen(context.Background(), screening.Query{FullName: other})
			require.NoError(t, err)
			assert.Equal(t, first.Hits, res.Hits, "%q and %q", group[0], other)
		}
	}
}

func TestOptions(t *testing.T) {
	t.Parallel()
	l := fixture(t, listscreen.Options{MinScore: 0.3, Limit: 2})
	res, err := l.Screen(context.Background(), screening.Query{FullName: "Teodor Orlando"})
	require.NoError(t, err)
	assert.Len(t, res.Hits, 2, "Limit caps the hits")

	for _, opts := range []listscreen.Options{{MinScore: 1.5}, {MinScore: -0.1}, {Limit: -1}} {
		_, err := listscreen.LoadFile(filepath.Join("testdata", "fictitious.csv"), opts)
		require.Error(t, err, "%+v", opts)
	}
}

func TestScreenInvalid(t *testing.T) {
	t.Parallel()
	l := fixture(t, listscreen.Options{})
	for _, q := range []screening.Query{
		{},
		{FullName: "!!!"},
		{FullName: "Ada Quill", Country: "GBR"},
		{FullName: strings.Repeat("ab ", listscreen.MaxQueryWords+1)},
	} {
		_, err := l.Screen(context.Background(), q)
		require.ErrorIs(t, err, screening.ErrInvalidQuery, "%+v", q)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := l.Screen(ctx, screening.Query{FullName: "Ada Quill"})
	require.ErrorIs(t, err, context.Canceled)
	_, err = l.ListVersion(ctx)
	require.ErrorIs(t, err, context.Canceled)
}

func TestMalformedLists(t *testing.T) {
	t.Parallel()
	const header = "id,name,aliases,birth_date,country,programme\n"
	tests := []struct {
		name   string
		csv    string
		line   int
		column string
		want   string
	}{
		{"empty file", "", 1, "", "header row is required"},
		{"comments only", "# nothing\n", 1, "", "header row is required"},
		{"header only", header, 1, "", "no entries"},
		{"unknown column", "name,aliases,birth_date,country,programme,nationality_2\n", 1, "", `unknown column "nationality_2"`},
		{"column twice", "name,aliases,birth_date,dob,country,programme\n", 1, "", "appears twice"},
		{"missing column", "name,aliases,country,programme\n", 1, "", "no birth_date column"},
		{"bad date", header + "1,Ada Quill,,1980-02-30,GB,X\n2,Ida Quell,,1980-13-01,GB,X\n", 2, "birth_date", `"1980-02-30" is not a date`},
		{"date in another form", header + "1,Ada Quill,,02/01/1980,GB,X\n", 2, "birth_date", "YYYY-MM-DD"},
		{"bad country after a comment", "# c\n" + header + "1,Ada Quill,,,GB,X\n\n2,Ida Quell,,,GBR,X\n", 5, "country", `"GBR" is not an ISO 3166-1 alpha-2 code`},
		{"empty name", header + "1,Ada Quill,,,,X\n2, ,,,,X\n", 3, "name", "name is empty"},
		{"name without letters", header + "1,--,,,,X\n", 2, "name", "has no letters"},
		{"alias without letters", header + "1,Ada Quill,A. Quill;..,,,X\n", 2, "aliases", "alias 2"},
		{"name too long", header + "1," + strings.Repeat("Ada ", listscreen.MaxNameWords+1) + ",,,,X\n", 2, "name", "more than 16 words"},
		{"alias too long", header + "1,Ada Quill,A. Quill;" + strings.Repeat("Ada ", listscreen.MaxNameWords+1) + ",,,X\n", 2, "aliases", "alias 2 has more than 16 words"},
		{"too many aliases", header + "1,Ada Quill," + strings.Repeat("Ada;", listscreen.MaxAliases+1) + ",,,X\n", 2, "aliases", "more than 100 aliases"},
		{"too few fields", header + "1,Ada Quill,,,GB,X\n2,Ida Quell,,GB,X\n", 3, "", "wrong number of fields"},
		{"too many fields", header + "1,Ada Quill,,,GB,X,extra\n", 2, "", "wrong number of fields"},
		{"broken quote", header + "1,\"Ada Quill,,,GB,X\n", 2, "", "quote"},
		{"bare quote", header + "1,Ada \"Q\" Quill,,,GB,X\n", 2, "", "bare \""},
		{"duplicate id", header + "P1,Ada Quill,,,GB,X\nP2,Ida Quell,,,GB,X\nP1,Eda Quall,,,GB,X\n", 4, "id", `id "P1" is already used on line 2`},
		{"duplicate derived id", header + ",Ada Quill,,1980-01-02,GB,X\n,ADA QUILL,,1980-01-02,gb,Y\n", 3, "", "same name, birth date and country as line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := listscreen.Load(strings.NewReader(tt.csv), listscreen.Options{})
			require.ErrorIs(t, err, listscreen.ErrMalformedList)
			var pe *listscreen.ParseError
			require.True(t, errors.As(err, &pe), "%v", err)
			assert.Equal(t, tt.line, pe.Line, "%v", err)
			assert.Equal(t, tt.column, pe.Column, "%v", err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestLoadVariants(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		csv  string
		id   string
	}{
		{"byte-order mark, other column order and names", "\ufeffProgramme,Date of Birth,Name,Nationality,Alias\nX,1980-01-02,Ada Quill,gb,A. Quill\n", "ada-quill-1980-01-02-gb"},
		{"quoted fields with commas and quotes", "name,aliases,birth_date,country,programme\n\"Quill, Ada\",\"Ada \"\"Q\"\" Quill\",1980-01-02,GB,X\n", "quill-ada-1980-01-02-gb"},
		{"CRLF line ends", "name,aliases,birth_date,country,programme\r\nAda Quill,,1980-01-02,GB,X\r\n", "ada-quill-1980-01-02-gb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, err := listscreen.Load(strings.NewReader(tt.csv), listscreen.Options{})
			require.NoError(t, err)
			res, err := l.Screen(context.Background(), screening.Query{FullName: "Ada Quill"})
			require.NoError(t, err)
			require.Len(t, res.Hits, 1)
			assert.Equal(t, tt.id, res.Hits[0].EntityID)
			assert.Equal(t, []string{"X"}, res.Hits[0].Programmes)
		})
	}
}

func TestLoadFileMissing(t *testing.T) {
	t.Parallel()
	_, err := listscreen.LoadFile(filepath.Join(t.TempDir(), "absent.csv"), listscreen.Options{})
	require.ErrorIs(t, err, os.ErrNotExist)
	assert.False(t, errors.Is(err, listscreen.ErrMalformedList))
}

func TestFileReload(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "list.csv")
	const header = "id,name,aliases,birth_date,country,programme\n"
	write := func(body string) { require.NoError(t, os.WriteFile(path, []byte(header+body), 0o600)) }

	write("P1,Ada Quill,,,GB,X\n")
	f, err := listscreen.OpenFile(path, listscreen.Options{Name: "mine"})
	require.NoError(t, err)
	v1, err := f.ListVersion(ctx)
	require.NoError(t, err)

	changed, err := f.Reload(ctx)
	require.NoError(t, err)
	assert.False(t, changed, "same bytes")

	res, err := f.Screen(ctx, screening.Query{FullName: "Ida Quell Brook"})
	require.NoError(t, err)
	assert.Empty(t, res.Hits)

	write("P1,Ada Quill,,,GB,X\nP2,Ida Quell Brook,,,GB,Y\n")
	changed, err = f.Reload(ctx)
	require.NoError(t, err)
	assert.True(t, changed)
	v2, _ := f.ListVersion(ctx)
	assert.NotEqual(t, v1, v2)
	assert.Equal(t, 2, f.List().Len())
	res, err = f.Screen(ctx, screening.Query{FullName: "Ida Quell Brook"})
	require.NoError(t, err)
	require.Len(t, res.Hits, 1)
	assert.Equal(t, v2, res.ListVersion)
	assert.Equal(t, "mine", res.Hits[0].List)

	// A bad edit keeps the list in use.
	write("P1,Ada Quill,,,GB,X\nP2,Ida Quell Brook,,1980-99-01,GB,Y\n")
	changed, err = f.Reload(ctx)
	require.ErrorIs(t, err, listscreen.ErrMalformedList)
	assert.False(t, changed)
	v3, _ := f.ListVersion(ctx)
	assert.Equal(t, v2, v3)

	require.NoError(t, os.Remove(path))
	_, err = f.Reload(ctx)
	require.ErrorIs(t, err, os.ErrNotExist)
	assert.Equal(t, 2, f.List().Len())

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = f.Reload(cancelled)
	require.ErrorIs(t, err, context.Canceled)
}

func TestConcurrentScreens(t *testing.T) {
	t.Parallel()
	l := fixture(t, listscreen.Options{})
	queries := []string{"Orlando Veskari", "Teodor Brankovic", "Marek Kowalczyk", "Jose Nandubay Quiros", "Muhammad Alqarsuni"}
	want := make([]screening.Result, len(queries))
	for i, q := range queries {
		res, err := l.Screen(context.Background(), screening.Query{FullName: q})
		require.NoError(t, err)
		want[i] = res
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for n := range 200 {
				i := (g + n) % len(queries)
				res, err := l.Screen(context.Background(), screening.Query{FullName: queries[i]})
				if !assert.NoError(t, err) || !assert.Equal(t, want[i], res) {
					return
				}
			}
		})
	}
	wg.Wait()
}
