package listscreen

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// foldSpecial maps letters that carry no combining mark under NFKD (so that
// stripping marks leaves them as they are) to their usual Latin spelling.
var foldSpecial = map[rune]string{
	'ß': "ss", 'ẞ': "ss", 'æ': "ae", 'œ': "oe", 'ø': "o", 'ł': "l", 'đ': "d",
	'ð': "d", 'þ': "th", 'ı': "i", 'ħ': "h", 'ŧ': "t", 'ŀ': "l", 'ς': "σ",
}

// isApostrophe reports runes dropped without splitting the word, so that
// "O'Neil", "O’Neil" and "ONeil" are one token.
func isApostrophe(r rune) bool {
	switch r {
	case '\'', '’', '‘', 'ʼ', 'ʻ', '`', '´':
		return true
	}
	return false
}

// Normalize returns name as the screener compares it: accents and other
// combining marks stripped (NFKD), case folded, a few letters without a
// decomposition spelled out (ß -> ss, ø -> o, ł -> l, æ -> ae), apostrophes
// dropped, every other run of punctuation, symbols and spaces turned into one
// space, and no leading or trailing space. Letters of other scripts are kept
// (folded to lower case): there is no transliteration between scripts.
//
//	Normalize("  GARCÍA-Márquez, José ") == "garcia marquez jose"
func Normalize(name string) string {
	var b strings.Builder
	appendNormalized(&b, name)
	return b.String()
}

func appendNormalized(b *strings.Builder, name string) {
	ascii := true
	for i := 0; i < len(name); i++ {
		if name[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if !ascii {
		// Invalid UTF-8 becomes a separator first: NFKD does not decompose
		// what follows a bad byte, and Normalize must be idempotent.
		name = norm.NFKD.String(strings.ToValidUTF8(name, " "))
	}
	b.Grow(len(name))
	pendingSpace := false
	for _, r := range name {
		switch {
		case r < utf8.RuneSelf && ('a' <= r && r <= 'z' || '0' <= r && r <= '9'):
		case r < utf8.RuneSelf && 'A' <= r && r <= 'Z':
			r += 'a' - 'A'
		case unicode.Is(unicode.Mn, r) || isApostrophe(r):
			continue
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			r = unicode.ToLower(r)
			if s, ok := foldSpecial[r]; ok {
				if pendingSpace && b.Len() > 0 {
					b.WriteByte(' ')
				}
				pendingSpace = false
				b.WriteString(s)
				continue
			}
		default:
			pendingSpace = true
			continue
		}
		if pendingSpace && b.Len() > 0 {
			b.WriteByte(' ')
		}
		pendingSpace = false
		b.WriteRune(r)
	}
}

// tokens splits a normalised name into its words.
func tokens(normalized string) []string {
	return strings.Fields(normalized)
}

// maxParticleRunes is the longest word glue joins to the next one.
const maxParticleRunes = 3

// glue joins every short word (a particle such as al, el, van, de, bin, or
// an initial) that is not the last word to the word after it, so that
// "al qarsuni" and "alqarsuni", "van der berg" and "vanderberg" can be
// compared word by word. It returns nil when no word is short.
func glue(words []string) []string {
	var out []string
	changed := false
	for i := 0; i < len(words); i++ {
		w := words[i]
		for i+1 < len(words) && utf8.RuneCountInString(words[i]) <= maxParticleRunes {
			i++
			w += words[i]
			changed = true
		}
		out = append(out, w)
	}
	if !changed {
		return nil
	}
	return out
}

// soundClass is the Soundex digit of an ASCII lower-case consonant, 0 for
// vowels and for h, y, which separate nothing.
func soundClass(r rune) byte {
	switch r {
	case 'b', 'f', 'p', 'v', 'w':
		return '1'
	case 'c', 'g', 'j', 'k', 'q', 's', 'x', 'z':
		return '2'
	case 'd', 't':
		return '3'
	case 'l':
		return '4'
	case 'm', 'n':
		return '5'
	case 'r':
		return '6'
	}
	return 0
}

// blockKeys returns the index keys of a word: two words are compared only
// when they share one. The keys are built from a Soundex-like skeleton of
// the word: the class of its first letter (vowels, j and y share one, so
// Elena, Yelena and Jelena do; v and w share one, so Vladimir and Wladimir
// do; h has its own) followed by the classes of its consonant sounds,
// repeats collapsed and h skipped (so Mikhail and Michail, Mohammed and
// Muhammad have the same skeleton). The first key is the first keyLen
// codes of the skeleton; when it has three codes or more, further keys
// leave out one of the codes after the first (the code after the key
// moving in), so that one consonant dropped, added or changed in a word
// ("Stulweis" for "Sulweis") still meets the other spelling. Words that
// start with a digit or a letter outside a-z have one key: '#' and their
// first two runes.
func blockKeys(tok string) []string {
	first, size := utf8.DecodeRuneInString(tok)
	if first > 'z' || first < 'a' {
		if utf8.RuneCountInString(tok) <= 2 {
			return []string{"#" + tok}
		}
		_, size2 := utf8.DecodeRuneInString(tok[size:])
		return []string{"#" + tok[:size+size2]}
	}
	var skel [keyLen + 1]byte
	n := 1
	var last byte
	switch first {
	case 'a', 'e', 'i', 'o', 'u', 'y', 'j':
		skel[0] = 'a'
	case 'h':
		skel[0] = 'h'
	default:
		skel[0] = soundClass(first)
		last = skel[0]
	}
	for _, r := range tok[size:] {
		if n == len(skel) {
			break
		}
		c := soundClass(r)
		switch {
		case r == 'h':
			continue // does not separate a repeat: "chk" is one sound
		case c == 0:
			last = 0 // a vowel separates repeats
		case c != last:
			skel[n] = c
			n++
			last = c
		}
	}
	if n < 3 {
		return []string{string(skel[:n])}
	}
	keys := []string{string(skel[:min(n, keyLen)])}
	for drop := 1; drop < min(n, keyLen); drop++ {
		var k [keyLen]byte
		m := copy(k[:], skel[:drop])
		m += copy(k[m:], skel[drop+1:n])
		if key := string(k[:m]); !slices.Contains(keys, key) {
			keys = append(keys, key)
		}
	}
	return keys
}

// keyLen is the length of a block key: the first letter's class and the
// next keyLen-1 consonant sounds.
const keyLen = 4

// shareKey reports whether two key sets meet.
func shareKey(a, b []string) bool {
	for _, k := range a {
		if slices.Contains(b, k) {
			return true
		}
	}
	return false
}
