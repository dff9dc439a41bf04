package listscreen

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/openkyc/kyc/screening"
)

// synth makes fictitious names from syllables, deterministically from a
// seed, for the index tests and the benchmarks.
type synth struct {
	rng     *rand.Rand
	given   []string
	family  []string
	country []string
}

var (
	onsets = []string{"b", "br", "c", "ch", "d", "dr", "f", "g", "gr", "h", "j", "k", "kh", "l", "m", "n", "p", "pr", "r", "s", "sh", "st", "t", "tr", "v", "w", "z", ""}
	nuclei = []string{"a", "e", "i", "o", "u", "ai", "ei", "ou", "y", "ia"}
	codas  = []string{"", "", "", "n", "r", "l", "s", "k", "m", "t", "v", "sk", "nd"}
)

func newSynth(seed uint64, given, family int) *synth {
	s := &synth{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	s.country = []string{"NL", "DE", "FR", "ES", "PL", "RU", "UA", "TR", "EG", "IR", "CO", "BR", "VN", "NG", "GB", "US"}
	s.given = s.words(given, 2, 3)
	s.family = s.words(family, 2, 4)
	return s
}

func (s *synth) word(minSyl, maxSyl int) string {
	var b strings.Builder
	for range minSyl + s.rng.IntN(maxSyl-minSyl+1) {
		b.WriteString(onsets[s.rng.IntN(len(onsets))])
		b.WriteString(nuclei[s.rng.IntN(len(nuclei))])
		b.WriteString(codas[s.rng.IntN(len(codas))])
	}
	w := b.String()
	return strings.ToUpper(w[:1]) + w[1:]
}

func (s *synth) words(n, minSyl, maxSyl int) []string {
	seen := map[string]bool{}
	out := make([]string, 0, n)
	for len(out) < n {
		if w := s.word(minSyl, maxSyl); len(w) > 2 && !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

func (s *synth) pick(from []string) string { return from[s.rng.IntN(len(from))] }

// person is a made-up name with optional birth date and country.
type person struct {
	words     []string
	birthDate string
	country   string
}

func (s *synth) person() person {
	p := person{words: []string{s.pick(s.given)}}
	if s.rng.IntN(10) < 3 {
		p.words = append(p.words, s.pick(s.given))
	}
	p.words = append(p.words, s.pick(s.family))
	if s.rng.IntN(10) < 7 {
		p.birthDate = time.Date(1940+s.rng.IntN(65), time.Month(1+s.rng.IntN(12)), 1+s.rng.IntN(28), 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
	}
	if s.rng.IntN(10) < 7 {
		p.country = s.pick(s.country)
	}
	return p
}

// mutate returns a spelling variant: a letter changed, doubled or dropped,
// an accent added, or the words reordered.
func (s *synth) mutate(words []string) []string {
	out := append([]string(nil), words...)
	i := s.rng.IntN(len(out))
	w := []rune(out[i])
	switch s.rng.IntN(5) {
	case 0:
		if len(w) > 3 {
			j := 1 + s.rng.IntN(len(w)-1)
			w[j] = rune("aeiou"[s.rng.IntN(5)])
		}
	case 1:
		j := s.rng.IntN(len(w))
		w = append(w[:j+1], w[j:]...)
	case 2:
		if len(w) > 4 {
			j := 1 + s.rng.IntN(len(w)-1)
			w = append(w[:j], w[j+1:]...)
		}
	case 3:
		out[i] = strings.NewReplacer("a", "á", "e", "é", "o", "ö", "u", "ü").Replace(string(w))
		return out
	case 4:
		out[0], out[len(out)-1] = out[len(out)-1], out[0]
		return out
	}
	out[i] = string(w)
	return out
}

// csv returns a list file of n entries, every fifth with an alias.
func (s *synth) csv(n int) (string, []person) {
	var b strings.Builder
	b.WriteString("id,name,aliases,birth_date,country,programme\n")
	people := make([]person, n)
	for i := range people {
		p := s.person()
		people[i] = p
		alias := ""
		if i%5 == 0 {
			alias = strings.Join(s.mutate(p.words), " ")
		}
		fmt.Fprintf(&b, "S%06d,%s,%s,%s,%s,SYNTH-%d\n", i, strings.Join(p.words, " "), alias, p.birthDate, p.country, i%7)
	}
	return b.String(), people
}

// queries returns n subjects: one in twenty a spelling variant of a list
// entry (with its birth date half of the time), the others made-up people
// drawn from the same given and family names, so they share words with the
// list as real customers do.
//
// truth[i] is the index of the listed person query i is a variant of, -1
// for made-up people (who may still resemble someone on the list).
func (s *synth) queries(n int, listed []person) (out []screening.Query, truth []int) {
	out = make([]screening.Query, n)
	truth = make([]int, n)
	for i := range out {
		var p person
		truth[i] = -1
		if s.rng.IntN(20) == 0 {
			truth[i] = s.rng.IntN(len(listed))
			p = listed[truth[i]]
			p.words = s.mutate(p.words)
			if s.rng.IntN(2) == 0 {
				p.birthDate = ""
			}
		} else {
			p = s.person()
		}
		q := screening.Query{FullName: strings.Join(p.words, " "), Country: p.country}
		if p.birthDate != "" {
			q.BirthDate, _ = time.Parse(time.DateOnly, p.birthDate)
		}
		out[i] = q
	}
	return out, truth
}
