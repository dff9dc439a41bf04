package httpadapter

import (
	"sync"
	"unicode/utf8"

	"github.com/openkyc/kyc/levels"
)

// The verification status route is the hottest route: its answer is written
// by hand, byte for byte what encoding/json (without HTML escaping) writes
// for []levels.Outstanding, which TestAppendOutstandingMatchesEncodingJSON
// checks. It saves the reflection and the re-validation of each
// requirement's data (already compact JSON, prepared by the ladder).

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string exactly as encoding/json
// does with HTML escaping off: ", \ and control characters escaped,
// invalid UTF-8 replaced by \ufffd, U+2028 and U+2029 escaped.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendOutstanding appends the verification status API's status array.
func appendOutstanding(dst []byte, items []levels.Outstanding) []byte {
	dst = append(dst, '[')
	for i, o := range items {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"name":`...)
		dst = appendJSONString(dst, o.Name)
		dst = append(dst, `,"type":`...)
		dst = appendJSONString(dst, string(o.Type))
		dst = append(dst, `,"status":`...)
		dst = appendJSONString(dst, string(o.Status))
		if len(o.Data) > 0 {
			dst = append(dst, `,"data":`...)
			dst = append(dst, o.Data...)
		}
		dst = append(dst, '}')
	}
	return append(dst, ']')
}
