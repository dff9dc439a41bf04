package httpadapter

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openkyc/kyc/verification"
)

// The audit export's parameters.
const (
	paramActor  = "filter[actor]"
	paramAction = "filter[action]"
	paramSince  = "filter[since]"
	paramUntil  = "filter[until]"
)

var auditParamNames = []string{paramClientID, paramActor, paramAction, paramSince, paramUntil}

// The audit export's media types.
const (
	mediaNDJSON = "application/x-ndjson"
	mediaCSV    = "text/csv"
)

// auditJSON is one entry of the NDJSON export: the entry's fields in the
// v2 dialect's names (clientId for the subject). at and every other field
// are exactly the values the entry's hash covers (see
// verification.AuditEntry.CanonicalJSON, where clientId is "subjectId").
type auditJSON struct {
	Seq      int64             `json:"seq"`
	At       string            `json:"at"`
	Actor    auditActorJSON    `json:"actor"`
	Action   string            `json:"action"`
	ClientID int64             `json:"clientId"`
	Entity   string            `json:"entity"`
	EntityID string            `json:"entityId"`
	Summary  map[string]string `json:"summary"`
	PrevHash string            `json:"prevHash"`
	Hash     string            `json:"hash"`
}

type auditActorJSON struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

// csvHeader names the CSV export's columns; summary is the entry's summary
// as a JSON object.
var csvHeader = []string{"seq", "at", "actorKind", "actorId", "action", "clientId", "entity", "entityId", "summary", "prevHash", "hash"}

// auditFormat picks the export's format from Accept: CSV when text/csv is
// acceptable and preferred to NDJSON, otherwise NDJSON (the default, also
// for no Accept header and */*).
func auditFormat(accept string) string {
	best, bestQ := mediaNDJSON, -1.0
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		if (mt == mediaCSV || mt == mediaNDJSON) && q > bestQ && q > 0 {
			best, bestQ = mt, q
		}
	}
	return best
}

// parseAuditTime reads an RFC 3339 time ("2024-01-15T12:00:00Z", with an
// optional fraction and any offset).
func parseAuditTime(name, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, paramProblem(name, "must be an RFC 3339 time such as 2024-01-15T12:00:00Z")
	}
	return t.UTC(), nil
}

// parseAuditFilter reads the export's filters.
func parseAuditFilter(q map[string]string) (verification.AuditFilter, error) {
	var f verification.AuditFilter
	var err error
	if v, ok := q[paramClientID]; ok {
		if f.SubjectID, err = parseID(paramClientID, v); err != nil {
			return f, err
		}
	}
	if v, ok := q[paramActor]; ok {
		kind, id, _ := strings.Cut(v, ":")
		a := verification.Actor{Kind: verification.ActorKind(kind), ID: id}
		switch a.Kind {
		case verification.ActorAdmin, verification.ActorUser:
			if id != "" {
				if _, err := parseID(paramActor, id); err != nil {
					return f, paramProblem(paramActor, "must be kind or kind:id, with a positive integer id for admin and user")
				}
			}
		case verification.ActorProvider:
			if len(id) > 64 {
				return f, paramProblem(paramActor, "a provider name has at most 64 characters")
			}
		case verification.ActorHost, verification.ActorSystem:
			if id != "" {
				return f, paramProblem(paramActor, "host and system actors have no id")
			}
		default:
			return f, paramProblem(paramActor, "must be kind or kind:id with kind admin, host, system, provider or user")
		}
		f.ActorKind, f.ActorID = a.Kind, id
	}
	if v, ok := q[paramAction]; ok {
		f.Action = verification.AuditAction(v)
		if !f.Action.Valid() {
			return f, paramProblem(paramAction, "is not an audited action")
		}
	}
	if v, ok := q[paramSince]; ok {
		if f.Since, err = parseAuditTime(paramSince, v); err != nil {
			return f, err
		}
	}
	if v, ok := q[paramUntil]; ok {
		if f.Until, err = parseAuditTime(paramUntil, v); err != nil {
			return f, err
		}
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return f, paramProblem(paramUntil, "must be after %s", paramSince)
	}
	return f, nil
}

// auditWriter writes entries in one format through a buffer: the export
// holds one entry and the buffer at a time, whatever the trail's length.
type auditWriter struct {
	w    http.ResponseWriter
	buf  *bufio.Writer
	enc  *json.Encoder
	csv  *csv.Writer
	row  []string
	open bool
}

func newAuditWriter(w http.ResponseWriter, format string) *auditWriter {
	aw := &auditWriter{w: w, buf: bufio.NewWriterSize(w, 32<<10)}
	if format == mediaCSV {
		aw.csv = csv.NewWriter(aw.buf)
		aw.row = make([]string, len(csvHeader))
	} else {
		aw.enc = json.NewEncoder(aw.buf)
		aw.enc.SetEscapeHTML(false)
	}
	return aw
}

// start sends the headers (and the CSV header row) once.
func (aw *auditWriter) start() error {
	if aw.open {
		return nil
	}
	aw.open = true
	h := aw.w.Header()
	if aw.csv != nil {
		h.Set("Content-Type", mediaCSV+"; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="audit.csv"`)
	} else {
		h.Set("Content-Type", mediaNDJSON)
	}
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	aw.w.WriteHeader(http.StatusOK)
	if aw.csv != nil {
		return aw.csv.Write(csvHeader)
	}
	return nil
}

func (aw *auditWriter) write(e verification.AuditEntry) error {
	if err := aw.start(); err != nil {
		return err
	}
	at := e.At.UTC().Format(time.RFC3339Nano)
	if aw.enc != nil {
		sum := e.Summary
		if sum == nil {
			sum = map[string]string{}
		}
		return aw.enc.Encode(auditJSON{
			Seq: e.Seq, At: at, Actor: auditActorJSON{string(e.Actor.Kind), e.Actor.ID}, Action: string(e.Action),
			ClientID: e.SubjectID, Entity: e.Entity, EntityID: e.EntityID, Summary: sum, PrevHash: e.PrevHash, Hash: e.Hash,
		})
	}
	sum, err := json.Marshal(e.Summary)
	if err != nil {
		return err
	}
	if e.Summary == nil {
		sum = []byte("{}")
	}
	aw.row[0], aw.row[1], aw.row[2], aw.row[3] = strconv.FormatInt(e.Seq, 10), at, string(e.Actor.Kind), e.Actor.ID
	aw.row[4], aw.row[5], aw.row[6], aw.row[7] = string(e.Action), strconv.FormatInt(e.SubjectID, 10), e.Entity, e.EntityID
	aw.row[8], aw.row[9], aw.row[10] = string(sum), e.PrevHash, e.Hash
	return aw.csv.Write(aw.row)
}

func (aw *auditWriter) finish() error {
	if err := aw.start(); err != nil {
		return err
	}
	if aw.csv != nil {
		aw.csv.Flush()
		if err := aw.csv.Error(); err != nil {
			return err
		}
	}
	return aw.buf.Flush()
}

// serveAudit: extension (admin), the audit trail as NDJSON (default) or
// CSV, streamed; the Service scopes it by the admin's tags.
func (a *Adapter) serveAudit(c *call) error {
	q, err := parseQuery(c.r.URL.RawQuery, auditParamNames...)
	if err != nil {
		return err
	}
	f, err := parseAuditFilter(q)
	if err != nil {
		return err
	}
	aw := newAuditWriter(c.w, auditFormat(c.r.Header.Get("Accept")))
	err = a.svc.ExportAudit(c.ctx, c.admin(), f, aw.write)
	if err == nil {
		err = aw.finish()
	}
	if err == nil {
		return nil
	}
	if !aw.open {
		return err // nothing sent yet: a problem in the v2 dialect
	}
	// The status is sent: cut the stream, so that the client sees a broken
	// transfer, never a complete-looking export.
	if c.ctx.Err() == nil {
		a.log.Error().Err(err).Str("route", c.pattern).Msg("httpadapter: audit export interrupted")
	}
	panic(http.ErrAbortHandler)
}
