package listscreen

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/openkyc/kyc/screening"
)

// FuzzLoad: any file either loads or fails with a *ParseError; a loaded
// list screens its own first name without error and finds it.
func FuzzLoad(f *testing.F) {
	fixture, err := os.ReadFile("testdata/fictitious.csv")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(fixture))
	f.Add("name,aliases,birth_date,country,programme\nAda Quill,A. Quill;Ada Q,1980-01-02,GB,X;Y\n")
	f.Add("id,name,aliases,birth_date,country,programme\n\"1\",\"Quill, \"\"Ada\"\"\",,,,\n")
	f.Add("\ufeffname,aliases,dob,nationality,program\r\nÆsa Ørn,,,,\r\n")
	f.Fuzz(func(t *testing.T, file string) {
		l, err := Load(strings.NewReader(file), Options{MinScore: 0.5})
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, ErrMalformedList) || pe.Line < 1 {
				t.Fatalf("error %v is not a ParseError with a line", err)
			}
			return
		}
		name := l.variants[0].display
		res, err := l.Screen(context.Background(), screening.Query{FullName: name})
		if errors.Is(err, screening.ErrInvalidQuery) {
			return // a list name may be longer than MaxQueryWords
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Hits) == 0 || res.Hits[0].Score != 1 {
			t.Fatalf("%q does not find itself: %+v", name, res.Hits)
		}
	})
}

// FuzzNormalize: normalising is idempotent and its output holds no
// upper-case letter, no double space and no space at either end.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"GARCÍA-Márquez, José", "Straße Øystein", "O'Neil", "Зоя  Квиль", "ﬁ\u0301", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		if again := Normalize(n); again != n {
			t.Fatalf("Normalize(%q) = %q, but Normalize of that = %q", s, n, again)
		}
		if strings.Contains(n, "  ") || strings.TrimSpace(n) != n {
			t.Fatalf("Normalize(%q) = %q has stray spaces", s, n)
		}
		for _, w := range tokens(n) {
			if len(blockKeys(w)) == 0 {
				t.Fatalf("no block key for %q", w)
			}
		}
	})
}
