package listscreen

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/adrg/strutil/metrics"

	"github.com/openkyc/kyc/screening"
)

// Defaults for Options fields left at their zero value.
const (
	// DefaultName is the list name reported in Hit.List.
	DefaultName = "local"
	// DefaultMinScore is the lowest score a hit is returned with.
	DefaultMinScore = 0.80
	// DefaultLimit is the most hits one screen returns.
	DefaultLimit = 10
	// MaxQueryWords is the most words a screened name may have.
	MaxQueryWords = 16
	// MaxNameWords is the most words a name in a list file may have.
	MaxNameWords = 16
	// MaxAliases is the most aliases one row of a list file may have.
	MaxAliases = 100
)

// Scoring constants; doc.go explains each.
const (
	tokenFloor             = 0.85 // a word pair scoring less counts as no match
	singleWordFactor       = 0.85 // a one-word name against a longer one
	extraWordPenalty       = 0.02 // per word of the longer name left unmatched
	maxExtraWordPenalty    = 0.10
	countryMismatchPenalty = 0.10
)

// ErrMalformedList is matched (errors.Is) by every error about the content
// of a list file; such errors are *ParseError values naming the line.
var ErrMalformedList = errors.New("listscreen: malformed list")

// ParseError reports a problem with one line of a list file.
type ParseError struct {
	// Line is the 1-based line number in the file (the header is line 1
	// unless comment lines come first).
	Line int
	// Column is the header name of the offending column, "" when the
	// problem is with the whole line.
	Column string
	// Msg says what is wrong.
	Msg string
}

// Error implements error.
func (e *ParseError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("listscreen: line %d: %s", e.Line, e.Msg)
	}
	return fmt.Sprintf("listscreen: line %d: column %s: %s", e.Line, e.Column, e.Msg)
}

// Unwrap makes errors.Is(err, ErrMalformedList) true.
func (e *ParseError) Unwrap() error { return ErrMalformedList }

// Options configure a List. The zero value is usable.
type Options struct {
	// Name is reported as Hit.List; empty means DefaultName.
	Name string

	// MinScore is the lowest score, after the birth-date and country
	// adjustments, a hit is returned with; 0 means DefaultMinScore. Must be
	// at most 1. The screening policy's threshold (screening.Decide) is
	// usually higher: hits between the two are kept in the result for the
	// record but do not need a reviewer.
	MinScore float64

	// Limit is the most hits one screen returns, best first; 0 means
	// DefaultLimit.
	Limit int
}

func (o Options) resolve() (Options, error) {
	if o.Name == "" {
		o.Name = DefaultName
	}
	switch {
	case math.IsNaN(o.MinScore) || o.MinScore < 0 || o.MinScore > 1:
		return o, errors.New("listscreen: MinScore must be between 0 and 1")
	case o.MinScore == 0:
		o.MinScore = DefaultMinScore
	}
	switch {
	case o.Limit < 0:
		return o, errors.New("listscreen: Limit must not be negative")
	case o.Limit == 0:
		o.Limit = DefaultLimit
	}
	return o, nil
}

// List is a loaded list file with its name index: a screening.Screener and
// screening.ListVersioner. It is immutable and safe for concurrent use; to
// follow a file that changes, use File.
type List struct {
	opts    Options
	version string

	entries  []entry
	variants []variant
	vocab    []word
	byKey    map[string][]uint32 // block key -> vocab ids, increasing

	pool sync.Pool // *scratch
}

var (
	_ screening.Screener      = (*List)(nil)
	_ screening.ListVersioner = (*List)(nil)
)

// entry is one row of the file.
type entry struct {
	id         string
	birthDate  string // YYYY-MM-DD or ""
	country    string // upper-case alpha-2 or ""
	programmes []string
}

// variant is one name of an entry: its primary name or an alias.
type variant struct {
	entry   uint32
	display string   // as the file writes it
	words   []uint32 // vocab ids, longest word first
}

// word is one distinct normalised word of the list.
type word struct {
	text     string
	runes    int
	counts   letterCounts
	postings []uint32 // ids of the variants holding the word
}

// letterCounts counts the letters a to z of a word, and in a last slot its
// other bytes. The sum over slots of the smaller of two words' counts is at
// least the number of runes the two words have in common, so it bounds
// Jaro's matches from above.
type letterCounts [27]uint8

func countLetters(w string) letterCounts {
	var c letterCounts
	for i := 0; i < len(w); i++ {
		slot := 26
		if 'a' <= w[i] && w[i] <= 'z' {
			slot = int(w[i] - 'a')
		}
		if c[slot] < 255 {
			c[slot]++
		}
	}
	return c
}

var jaroWinkler = metrics.NewJaroWinkler() // stateless: safe to share

// LoadFile loads the list file at path (see the package documentation for
// the format).
func LoadFile(path string, opts Options) (*List, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("listscreen: %w", err)
	}
	defer f.Close()
	return Load(f, opts)
}

// Load reads a list file from r (see the package documentation for the
// format) and builds its index. Errors about the content match
// ErrMalformedList and are *ParseError values naming the line; nothing is
// loaded then. The list version is the SHA-256 of every byte read from r.
func Load(r io.Reader, opts Options) (*List, error) {
	o, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	hash := sha256.New()
	br := bufio.NewReader(io.TeeReader(r, hash))
	if bom, err := br.Peek(3); err == nil && string(bom) == "\ufeff" {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true

	b := newBuilder()
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, &ParseError{Line: 1, Msg: "the list is empty: a header row is required"}
	}
	if err != nil {
		return nil, csvError(err)
	}
	line, _ := cr.FieldPos(0)
	cols, err := parseHeader(header, line)
	if err != nil {
		return nil, err
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		line, _ := cr.FieldPos(0)
		if err := b.add(rec, cols, line); err != nil {
			return nil, err
		}
	}
	if _, err := io.Copy(io.Discard, br); err != nil {
		return nil, fmt.Errorf("listscreen: reading list: %w", err)
	}
	if len(b.entries) == 0 {
		return nil, &ParseError{Line: line, Msg: "the list has a header but no entries"}
	}
	l := b.build(o)
	l.version = "sha256:" + hex.EncodeToString(hash.Sum(nil))
	return l, nil
}

// csvError turns encoding/csv's errors into ParseErrors; I/O errors stay as
// they are.
func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &ParseError{Line: pe.Line, Msg: pe.Err.Error()}
	}
	return fmt.Errorf("listscreen: reading list: %w", err)
}

// columns holds the index of each column in a row; -1 when absent.
type columns struct {
	id, name, aliases, birthDate, country, programme int
	header                                           []string
}

func parseHeader(header []string, line int) (columns, error) {
	c := columns{id: -1, name: -1, aliases: -1, birthDate: -1, country: -1, programme: -1, header: slices.Clone(header)}
	for i, h := range header {
		key := strings.Map(func(r rune) rune {
			switch r {
			case ' ', '_', '-':
				return -1
			}
			return r
		}, strings.ToLower(strings.TrimSpace(h)))
		var slot *int
		switch key {
		case "id":
			slot = &c.id
		case "name":
			slot = &c.name
		case "aliases", "alias":
			slot = &c.aliases
		case "birthdate", "dateofbirth", "dob":
			slot = &c.birthDate
		case "country", "nationality":
			slot = &c.country
		case "programme", "programmes", "program", "programs":
			slot = &c.programme
		default:
			return c, &ParseError{Line: line, Msg: fmt.Sprintf("unknown column %q: the columns are id (optional), name, aliases, birth_date, country, programme", h)}
		}
		if *slot >= 0 {
			return c, &ParseError{Line: line, Msg: fmt.Sprintf("column %q appears twice", h)}
		}
		*slot = i
	}
	for _, req := range []struct {
		idx  int
		name string
	}{{c.name, "name"}, {c.aliases, "aliases"}, {c.birthDate, "birth_date"}, {c.country, "country"}, {c.programme, "programme"}} {
		if req.idx < 0 {
			return c, &ParseError{Line: line, Msg: fmt.Sprintf("the header has no %s column", req.name)}
		}
	}
	return c, nil
}

// builder accumulates rows before the index is frozen.
type builder struct {
	entries  []entry
	variants []variant
	vocab    []word
	vocabIDs map[string]uint32
	ids      map[string]int // entity id -> line
}

func newBuilder() *builder {
	return &builder{vocabIDs: map[string]uint32{}, ids: map[string]int{}}
}

func (b *builder) add(rec []string, c columns, line int) error {
	field := func(i int) string { return strings.TrimSpace(rec[i]) }
	bad := func(col int, format string, args ...any) error {
		return &ParseError{Line: line, Column: c.header[col], Msg: fmt.Sprintf(format, args...)}
	}

	name := field(c.name)
	if name == "" {
		return bad(c.name, "the name is empty")
	}
	primary := Normalize(name)
	if primary == "" {
		return bad(c.name, "the name %q has no letters", name)
	}
	if len(tokens(primary)) > MaxNameWords {
		return bad(c.name, "the name has more than %d words", MaxNameWords)
	}
	e := entry{}
	if v := field(c.birthDate); v != "" {
		if _, err := time.Parse(time.DateOnly, v); err != nil {
			return bad(c.birthDate, "%q is not a date in the form YYYY-MM-DD", v)
		}
		e.birthDate = v
	}
	if v := field(c.country); v != "" {
		up := strings.ToUpper(v)
		if len(up) != 2 || up[0] < 'A' || up[0] > 'Z' || up[1] < 'A' || up[1] > 'Z' {
			return bad(c.country, "%q is not an ISO 3166-1 alpha-2 code", v)
		}
		e.country = up
	}
	for p := range strings.SplitSeq(field(c.programme), ";") {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(e.programmes, p) {
			e.programmes = append(e.programmes, p)
		}
	}
	if c.id >= 0 && field(c.id) != "" {
		e.id = field(c.id)
	} else {
		e.id = derivedID(primary, e.birthDate, e.country)
	}
	if prev, dup := b.ids[e.id]; dup {
		if c.id >= 0 && field(c.id) != "" {
			return bad(c.id, "id %q is already used on line %d", e.id, prev)
		}
		return &ParseError{Line: line, Msg: fmt.Sprintf("same name, birth date and country as line %d: merge the two rows or give each an id", prev)}
	}
	b.ids[e.id] = line

	type named struct{ display, normalized string }
	names := []named{{name, primary}}
	n := 0
	for alias := range strings.SplitSeq(field(c.aliases), ";") {
		n++
		alias = strings.TrimSpace(alias)
		if alias == "" {
			continue
		}
		if n > MaxAliases {
			return bad(c.aliases, "more than %d aliases", MaxAliases)
		}
		norm := Normalize(alias)
		if norm == "" {
			return bad(c.aliases, "alias %d (%q) has no letters", n, alias)
		}
		if len(tokens(norm)) > MaxNameWords {
			return bad(c.aliases, "alias %d has more than %d words", n, MaxNameWords)
		}
		if !slices.ContainsFunc(names, func(x named) bool { return x.normalized == norm }) {
			names = append(names, named{alias, norm})
		}
	}
	for _, nm := range names {
		if g := glue(tokens(nm.normalized)); g != nil {
			if gn := strings.Join(g, " "); !slices.ContainsFunc(names, func(x named) bool { return x.normalized == gn }) {
				names = append(names, named{nm.display, gn})
			}
		}
	}
	entryID := uint32(len(b.entries))
	b.entries = append(b.entries, e)
	for _, nm := range names {
		words := tokens(nm.normalized)
		v := variant{entry: entryID, display: nm.display}
		variantID := uint32(len(b.variants))
		for _, w := range words {
			id, ok := b.vocabIDs[w]
			if !ok {
				id = uint32(len(b.vocab))
				b.vocabIDs[w] = id
				b.vocab = append(b.vocab, word{text: w, runes: utf8.RuneCountInString(w), counts: countLetters(w)})
			}
			if !slices.Contains(v.words, id) {
				v.words = append(v.words, id)
				b.vocab[id].postings = append(b.vocab[id].postings, variantID)
			}
		}
		b.variants = append(b.variants, v)
	}
	return nil
}

// derivedID is the entity id of a row without one: its normalised name,
// birth date and country joined by dashes ("ada-quill-1980-01-02-gb").
func derivedID(normalized, birthDate, country string) string {
	parts := []string{strings.ReplaceAll(normalized, " ", "-")}
	if birthDate != "" {
		parts = append(parts, birthDate)
	}
	if country != "" {
		parts = append(parts, strings.ToLower(country))
	}
	return strings.Join(parts, "-")
}

func (b *builder) build(o Options) *List {
	l := &List{
		opts:     o,
		entries:  slices.Clip(b.entries),
		variants: slices.Clip(b.variants),
		vocab:    slices.Clip(b.vocab),
		byKey:    map[string][]uint32{},
	}
	for id := range l.vocab {
		w := &l.vocab[id]
		w.postings = slices.Clip(w.postings)
		for _, key := range blockKeys(w.text) {
			l.byKey[key] = append(l.byKey[key], uint32(id))
		}
	}
	for i := range l.variants {
		v := &l.variants[i]
		slices.SortStableFunc(v.words, func(a, b uint32) int { return l.vocab[b].runes - l.vocab[a].runes })
		v.words = slices.Clip(v.words)
	}
	nv, ne, nw := len(l.variants), len(l.entries), len(l.vocab)
	l.pool.New = func() any {
		return &scratch{seenVariant: make([]uint32, nv), seenEntry: make([]uint32, ne), best: make([]candidate, ne), seenWord: make([]uint32, nw)}
	}
	return l
}

// Len returns the number of entries (rows) in the list.
func (l *List) Len() int { return len(l.entries) }

// Name returns the list name reported in Hit.List.
func (l *List) Name() string { return l.opts.Name }

// ListVersion returns "sha256:" and the hex SHA-256 of the file's bytes.
func (l *List) ListVersion(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	return l.version, nil
}

// scratch is the per-screen working memory, pooled so that a screen
// allocates only for its answer.
type scratch struct {
	screen      uint32   // counts screens
	pass        uint32   // counts passes (forms of a screened name)
	seenVariant []uint32 // == pass: variant already a candidate
	seenEntry   []uint32 // == screen: best[entry] is set
	word        uint32   // counts words of screened names
	seenWord    []uint32 // == word: list word already compared with this one
	best        []candidate
	candidates  []uint32 // variant ids
	entries     []uint32 // entry ids with a candidate
	query       []queryWord
	order       []int // query word indexes, longest first
	used        []bool
}

// candidate is the best name score of an entry so far.
type candidate struct {
	score   float64
	variant uint32
}

// queryWord is one word of the screened name with the list words it
// resembles.
type queryWord struct {
	text    string
	runes   int
	counts  letterCounts
	matches []wordMatch // sorted by id
}

type wordMatch struct {
	id  uint32
	sim float64
}

// Screen returns the entries whose names resemble q.FullName (see the
// package documentation for the score), adjusted by birth date and
// country, best first, at most Options.Limit of them, none below
// Options.MinScore. Errors match screening.ErrInvalidQuery or ctx's error.
func (l *List) Screen(ctx context.Context, q screening.Query) (screening.Result, error) {
	if err := ctx.Err(); err != nil {
		return screening.Result{}, err
	}
	if err := q.Validate(); err != nil {
		return screening.Result{}, err
	}
	words := tokens(Normalize(q.FullName))
	switch {
	case len(words) == 0:
		return screening.Result{}, fmt.Errorf("%w: full name has no letters", screening.ErrInvalidQuery)
	case len(words) > MaxQueryWords:
		return screening.Result{}, fmt.Errorf("%w: full name has more than %d words", screening.ErrInvalidQuery, MaxQueryWords)
	}
	// A repeated word counts once, as in the list's names (a variant
	// keeps each word once), so that a name always finds itself.
	words = uniqueWords(words)

	s := l.pool.Get().(*scratch)
	defer func() {
		for i := range s.query { // the pool should not keep the name
			s.query[i].text = ""
		}
		l.pool.Put(s)
	}()
	s.beginScreen()
	l.collect(s, words)
	if glued := glue(words); glued != nil {
		l.collect(s, glued)
	}

	var hits []screening.Hit
	for _, e := range s.entries {
		ent := &l.entries[e]
		score, ok := refine(s.best[e].score, q, ent)
		if !ok || score < l.opts.MinScore {
			continue
		}
		hits = append(hits, screening.Hit{
			List:       l.opts.Name,
			EntityID:   ent.id,
			Name:       l.variants[s.best[e].variant].display,
			Score:      score,
			Programmes: slices.Clone(ent.programmes),
		})
	}
	screening.SortHits(hits)
	if len(hits) > l.opts.Limit {
		hits = slices.Clip(hits[:l.opts.Limit])
	}
	return screening.Result{Hits: hits, ListVersion: l.version}, nil
}

// uniqueWords returns ws without repeated words, first occurrences in order.
func uniqueWords(ws []string) []string {
	out := make([]string, 0, len(ws))
	for _, w := range ws {
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}

// collect scores the list names that share a word's block key with one of
// words and keeps, per entry, its best name score at or above MinScore.
func (l *List) collect(s *scratch, words []string) {
	s.beginPass(len(words))
	for i, w := range words {
		qw := &s.query[i]
		qw.text, qw.runes = w, utf8.RuneCountInString(w)
		qw.counts = countLetters(w)
		s.beginWord()
		for _, key := range blockKeys(w) {
			for _, id := range l.byKey[key] {
				if s.seenWord[id] == s.word {
					continue // under two keys of both words
				}
				s.seenWord[id] = s.word
				if sim := wordSimilarity(qw, &l.vocab[id]); sim >= tokenFloor {
					qw.matches = append(qw.matches, wordMatch{id: id, sim: sim})
				}
			}
		}
		slices.SortFunc(qw.matches, func(a, b wordMatch) int { return int(a.id) - int(b.id) })
		for _, m := range qw.matches {
			for _, v := range l.vocab[m.id].postings {
				if s.seenVariant[v] != s.pass {
					s.seenVariant[v] = s.pass
					s.candidates = append(s.candidates, v)
				}
			}
		}
	}
	for i := range s.order {
		s.order[i] = i
	}
	slices.SortStableFunc(s.order, func(a, b int) int { return s.query[b].runes - s.query[a].runes })

	for _, v := range s.candidates {
		score := l.nameScore(s, &l.variants[v])
		if score < l.opts.MinScore {
			continue
		}
		e := l.variants[v].entry
		switch {
		case s.seenEntry[e] != s.screen:
			s.seenEntry[e] = s.screen
			s.best[e] = candidate{score, v}
			s.entries = append(s.entries, e)
		case score > s.best[e].score:
			s.best[e] = candidate{score, v}
		}
	}
}

// beginScreen starts a screen: no entry has a score yet.
func (s *scratch) beginScreen() {
	s.screen++
	if s.screen == 0 { // wrapped: old marks could collide
		clear(s.seenEntry)
		s.screen = 1
	}
	s.entries = s.entries[:0]
}

// beginWord starts matching one word of a screened name: no list word has
// been compared with it yet.
func (s *scratch) beginWord() {
	s.word++
	if s.word == 0 {
		clear(s.seenWord)
		s.word = 1
	}
}

// beginPass starts scoring one form of the screened name: no list name is
// a candidate yet.
func (s *scratch) beginPass(words int) {
	s.pass++
	if s.pass == 0 {
		clear(s.seenVariant)
		s.pass = 1
	}
	s.candidates = s.candidates[:0]
	if cap(s.query) < words {
		s.query = make([]queryWord, words)
	}
	s.query = s.query[:words]
	for i := range s.query {
		s.query[i].matches = s.query[i].matches[:0]
	}
	if cap(s.order) < words {
		s.order = make([]int, words)
	}
	s.order = s.order[:words]
}

// wordSimilarity is the Jaro-Winkler similarity of a query word and a list
// word, computed only when cheap upper bounds say it can reach tokenFloor.
//
// Jaro is (m/|a| + m/|b| + (m-t)/m)/3 with m matching runes: at most the
// shorter length and at most the letters both words hold (see
// letterCounts); Winkler adds 0.1 x (1 - Jaro) per rune of common prefix,
// at most 4.
func wordSimilarity(qw *queryWord, w *word) float64 {
	if qw.text == w.text {
		return 1
	}
	common := 0
	for c := range qw.counts {
		common += int(min(qw.counts[c], w.counts[c]))
	}
	la, lb := float64(qw.runes), float64(w.runes)
	m := min(float64(common), la, lb)
	if m == 0 {
		return 0
	}
	jaro := (m/la + m/lb + 1) / 3
	if jaro+0.4*(1-jaro) < tokenFloor {
		return 0 // not even with the longest prefix
	}
	if jaro+0.1*float64(commonPrefix(qw.text, w.text))*(1-jaro) < tokenFloor {
		return 0
	}
	return jaroWinkler.Compare(qw.text, w.text)
}

// commonPrefix counts the runes a and b start with, up to 4.
func commonPrefix(a, b string) int {
	n := 0
	for n < 4 && a != "" && b != "" {
		ra, sa := utf8.DecodeRuneInString(a)
		rb, sb := utf8.DecodeRuneInString(b)
		if ra != rb || sa != sb {
			break
		}
		n++
		a, b = a[sa:], b[sb:]
	}
	return n
}

// sim returns the similarity of the query word and list word id, 0 when
// they were not compared (no common block key) or fell below tokenFloor.
func (qw *queryWord) sim(id uint32) float64 {
	i, ok := slices.BinarySearchFunc(qw.matches, id, func(m wordMatch, id uint32) int { return int(m.id) - int(id) })
	if !ok {
		return 0
	}
	return qw.matches[i].sim
}

// nameScore is the score of the screened name (in s) against one list name.
func (l *List) nameScore(s *scratch, v *variant) float64 {
	nq, nv := len(s.query), len(v.words)
	var num, den float64
	if nq <= nv {
		used := s.usedFor(nv)
		for _, i := range s.order {
			qw := &s.query[i]
			best, bj := 0.0, -1
			for j, id := range v.words {
				if !used[j] {
					if sim := qw.sim(id); sim > best {
						best, bj = sim, j
					}
				}
			}
			if bj >= 0 {
				used[bj] = true
			}
			w := float64(qw.runes)
			num += w * best
			den += w
		}
	} else {
		used := s.usedFor(nq)
		for _, id := range v.words { // longest first
			best, bi := 0.0, -1
			for _, i := range s.order {
				if !used[i] {
					if sim := s.query[i].sim(id); sim > best {
						best, bi = sim, i
					}
				}
			}
			if bi >= 0 {
				used[bi] = true
			}
			w := float64(l.vocab[id].runes)
			num += w * best
			den += w
		}
	}
	score := num / den
	driver, other := min(nq, nv), max(nq, nv)
	if driver == 1 && other > 1 {
		return score * singleWordFactor
	}
	return score * (1 - min(extraWordPenalty*float64(other-driver), maxExtraWordPenalty))
}

func (s *scratch) usedFor(n int) []bool {
	if cap(s.used) < n {
		s.used = make([]bool, n)
	}
	s.used = s.used[:n]
	clear(s.used)
	return s.used
}

// refine adjusts a name score with the birth date and the country, when
// both the query and the entry have them. ok is false when the birth dates
// differ: the entry is ruled out.
func refine(score float64, q screening.Query, e *entry) (float64, bool) {
	if q.HasBirthDate() && e.birthDate != "" {
		if q.BirthDateString() != e.birthDate {
			return 0, false
		}
		score += (1 - score) / 2
	}
	if c := q.CountryCode(); c != "" && e.country != "" {
		if c == e.country {
			score += (1 - score) / 4
		} else {
			score -= countryMismatchPenalty
		}
	}
	return min(max(score, 0), 1), true
}
