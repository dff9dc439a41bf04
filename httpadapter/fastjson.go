package httpadapter

import (
	"maps"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/verification"
)

// The hottest answers are written by hand, byte for byte what encoding/json
// (without HTML escaping) writes for the route's JSON type: the
// verification status (for []levels.Outstanding, which
// TestAppendOutstandingMatchesEncodingJSON checks), the verification
// history (for listJSON[grantJSON], TestAppendGrantListMatchesEncodingJSON)
// the pending request (TestAppendPendingMatchesEncodingJSON) and the
// wizard's initialising answer (wizardJSON[wizardTypes],
// TestAppendWizardMatchesEncodingJSON).
// They save the reflection, and for the status the re-validation of each
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

// appendGrantList appends the verification history's {"total", "data"}
// of grants, as encoding/json writes listJSON[grantJSON] (toGrantJSON of
// each grant).
func appendGrantList(dst []byte, total int, grants []verification.Grant) []byte {
	dst = append(dst, `{"total":`...)
	dst = strconv.AppendInt(dst, int64(total), 10)
	dst = append(dst, `,"data":[`...)
	for i, g := range grants {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendGrant(dst, g)
	}
	return append(dst, "]}"...)
}

// appendGrant appends g as encoding/json writes toGrantJSON(g).
func appendGrant(dst []byte, g verification.Grant) []byte {
	dst = append(dst, `{"id":`...)
	dst = strconv.AppendInt(dst, g.ID, 10)
	dst = append(dst, `,"clientId":`...)
	dst = strconv.AppendInt(dst, g.SubjectID, 10)
	dst = append(dst, `,"currentLevel":`...)
	dst = appendLevelRef(dst, g.Level)
	dst = append(dst, `,"previousLevel":`...)
	if g.Previous != nil {
		dst = appendLevelRef(dst, *g.Previous)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"reason":{"name":`...)
	dst = appendJSONString(dst, g.Reason)
	dst = append(dst, `},"userId":`...)
	if g.AdminID != 0 {
		dst = strconv.AppendInt(dst, g.AdminID, 10)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"createTime":"`...)
	dst = g.CreatedAt.UTC().AppendFormat(dst, timeV2)
	return append(dst, `"}`...)
}

// appendLevelRef appends l as encoding/json writes levelRef(l).
func appendLevelRef(dst []byte, l verification.LevelRef) []byte {
	dst = append(dst, `{"id":`...)
	dst = strconv.AppendInt(dst, int64(l.ID), 10)
	dst = append(dst, `,"name":`...)
	dst = appendJSONString(dst, l.Name)
	return append(dst, '}')
}

// appendPending appends the pending request's {"item": item}.
func appendPending(dst []byte, item pendingItem) []byte {
	dst = append(dst, `{"item":{`...)
	if item.ID != "" {
		dst = append(dst, `"id":`...)
		dst = appendJSONString(dst, item.ID)
		dst = append(dst, ',')
	}
	dst = append(dst, `"account_id":`...)
	dst = appendJSONString(dst, item.AccountID)
	dst = append(dst, `,"status":`...)
	dst = appendJSONString(dst, item.Status)
	if item.ExpiresAt != "" {
		dst = append(dst, `,"expires_at":`...)
		dst = appendJSONString(dst, item.ExpiresAt)
	}
	if item.CreatedAt != "" {
		dst = append(dst, `,"created_at":`...)
		dst = appendJSONString(dst, item.CreatedAt)
	}
	dst = append(dst, `,"verified":`...)
	dst = strconv.AppendBool(dst, item.Verified)
	return append(dst, "}}"...)
}

// writePooled writes the JSON body build appends, in a pooled buffer.
func (c *call) writePooled(status int, build func([]byte) []byte) {
	bp := bufPool.Get().(*[]byte)
	*bp = build((*bp)[:0])
	c.write(status, *bp)
	if cap(*bp) <= 64<<10 {
		bufPool.Put(bp)
	}
}

// appendWizard appends the wizard's initialising answer as encoding/json
// writes w.
func appendWizard(dst []byte, w wizardJSON[wizardTypes]) []byte {
	dst = append(dst, `{"code":`...)
	dst = strconv.AppendInt(dst, int64(w.Code), 10)
	dst = append(dst, `,"data":`...)
	switch {
	case w.Data == nil:
		dst = append(dst, "null"...)
	case w.Data.Types == nil:
		dst = append(dst, `{"types":null}`...)
	default:
		dst = append(dst, `{"types":[`...)
		for i, t := range w.Data.Types {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendDocumentType(dst, t)
		}
		dst = append(dst, "]}"...)
	}
	dst = append(dst, `,"done":`...)
	dst = strconv.AppendBool(dst, w.Done)
	dst = append(dst, `,"uuid":`...)
	dst = appendJSONString(dst, w.UUID)
	dst = append(dst, `,"workflow":`...)
	dst = appendJSONString(dst, w.Workflow)
	return append(dst, '}')
}

// appendDocumentType appends t as encoding/json writes it: the group's
// keys in byte order.
func appendDocumentType(dst []byte, t documentTypeJSON) []byte {
	dst = append(dst, `{"id":`...)
	dst = strconv.AppendInt(dst, int64(t.ID), 10)
	dst = append(dst, `,"description":`...)
	dst = appendJSONString(dst, t.Description)
	dst = append(dst, `,"enabled":`...)
	dst = strconv.AppendBool(dst, t.Enabled)
	dst = append(dst, `,"example":`...)
	dst = appendJSONString(dst, t.Example)
	dst = append(dst, `,"group":`...)
	if t.Group == nil {
		dst = append(dst, "null"...)
		return append(dst, '}')
	}
	dst = append(dst, '{')
	for i, k := range slices.Sorted(maps.Keys(t.Group)) {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, k)
		dst = append(dst, ':')
		dst = appendJSONString(dst, t.Group[k])
	}
	return append(dst, "}}"...)
}
