// Package slogbridge lets the library's zerolog logging reach a
// *slog.Logger: New returns a zerolog.Logger whose events become slog
// records, with the same message, level and fields in the same order.
// zerolog stays the implementation (events cost nothing when the level is
// off); the bridge only decodes the lines that are written.
package slogbridge

import (
	"bytes"
	"context"
	"encoding/json"

	"log/slog"
	"strconv"
	"time"

	"github.com/rs/zerolog"
)

// New returns a zerolog.Logger that writes to l's handler. Its minimum
// level is the lowest level the handler enables when New is called; each
// event is checked against the handler again when written.
func New(l *slog.Logger) zerolog.Logger {
	h := l.Handler()
	min := zerolog.ErrorLevel
	for _, z := range []zerolog.Level{zerolog.WarnLevel, zerolog.InfoLevel, zerolog.DebugLevel, zerolog.TraceLevel} {
		if h.Enabled(context.Background(), toSlog(z)) {
			min = z
		}
	}
	return zerolog.New(&writer{h: h}).Level(min)
}

// toSlog maps a zerolog level to a slog level (trace below debug; fatal and
// panic as error).
func toSlog(z zerolog.Level) slog.Level {
	switch z {
	case zerolog.TraceLevel:
		return slog.LevelDebug - 4
	case zerolog.DebugLevel:
		return slog.LevelDebug
	case zerolog.InfoLevel, zerolog.NoLevel:
		return slog.LevelInfo
	case zerolog.WarnLevel:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}

// writer is a zerolog.LevelWriter that turns each JSON line into a record.
type writer struct{ h slog.Handler }

var _ zerolog.LevelWriter = (*writer)(nil)

func (w *writer) Write(p []byte) (int, error) { return w.WriteLevel(zerolog.NoLevel, p) }

func (w *writer) WriteLevel(z zerolog.Level, p []byte) (int, error) {
	ctx := context.Background()
	lvl := toSlog(z)
	if !w.h.Enabled(ctx, lvl) {
		return len(p), nil
	}
	var msg string
	var attrs []slog.Attr
	dec := json.NewDecoder(bytes.NewReader(p))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		// Not a zerolog JSON line: pass it on as the message.
		msg = string(bytes.TrimSpace(p))
	} else {
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				break
			}
			key, _ := kt.(string)
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				break
			}
			switch key {
			case zerolog.LevelFieldName:
				continue
			case zerolog.MessageFieldName:
				_ = json.Unmarshal(raw, &msg)
				continue
			}
			attrs = append(attrs, attr(key, raw))
		}
	}
	r := slog.NewRecord(time.Now(), lvl, msg, 0)
	r.AddAttrs(attrs...)
	if err := w.h.Handle(ctx, r); err != nil {
		return 0, err
	}
	return len(p), nil
}

// attr converts one JSON value to a slog attribute of the closest kind.
func attr(key string, raw json.RawMessage) slog.Attr {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return slog.Any(key, nil)
	}
	switch c := raw[0]; {
	case c == '"':
		var s string
		_ = json.Unmarshal(raw, &s)
		return slog.String(key, s)
	case c == 't' || c == 'f':
		return slog.Bool(key, c == 't')
	case c == 'n':
		return slog.Any(key, nil)
	case c == '-' || c >= '0' && c <= '9':
		if i, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
			return slog.Int64(key, i)
		}
		f, _ := strconv.ParseFloat(string(raw), 64)
		return slog.Float64(key, f)
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	_ = dec.Decode(&v)
	return slog.Any(key, v)
}
