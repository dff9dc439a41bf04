package watchman

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecodeSearch: whatever Watchman (or something in front of it) answers,
// decoding either fails or yields hits that all have a list, an entity id
// and a score in 0..1; it never panics.
func FuzzDecodeSearch(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var a searchAnswer
		err := decode(bytes.NewReader(body), &a)
		if err != nil {
			var bad *badAnswer
			_ = errors.As(err, &bad)
			return
		}
		for _, h := range a.hits() {
			if h.List == "" || h.EntityID == "" || math.IsNaN(h.Score) || h.Score < 0 || h.Score > 1 {
				t.Fatalf("bad hit %+v accepted", h)
			}
		}
	})
}
