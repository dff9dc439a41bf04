package slogbridge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// recorder keeps the records it is handed.
type recorder struct {
	min     slog.Level
	records []slog.Record
}

func (r *recorder) Enabled(_ context.Context, l slog.Level) bool { return l >= r.min }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.records = append(r.records, rec)
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

func attrs(r slog.Record) []slog.Attr {
	var out []slog.Attr
	r.Attrs(func(a slog.Attr) bool { out = append(out, a); return true })
	return out
}

func TestBridge(t *testing.T) {
	t.Parallel()
	rec := &recorder{min: slog.LevelInfo}
	z := New(slog.New(rec))
	z.Debug().Str("x", "y").Msg("dropped: below the handler's level")
	z.Info().Str("method", "GET").Int("status", 200).Float64("ratio", 0.5).Bool("ok", true).
		Dur("duration", 1500*time.Microsecond).Interface("obj", map[string]int{"a": 1}).Msg("http request")
	z.Error().Err(errors.New("boom")).Msg("failed")
	z.Warn().Msg("careful")

	require.Len(t, rec.records, 3)
	r := rec.records[0]
	require.Equal(t, slog.LevelInfo, r.Level)
	require.Equal(t, "http request", r.Message)
	got := attrs(r)
	require.Len(t, got, 6)
	for i, want := range []slog.Attr{
		slog.String("method", "GET"), slog.Int64("status", 200), slog.Float64("ratio", 0.5), slog.Bool("ok", true), slog.Float64("duration", 1.5),
	} {
		require.True(t, want.Equal(got[i]), "attr %d: %v, want %v", i, got[i], want)
	}
	require.Equal(t, "obj", got[5].Key)
	require.Equal(t, map[string]any{"a": json.Number("1")}, got[5].Value.Any())
	require.Equal(t, slog.LevelError, rec.records[1].Level)
	require.Equal(t, "failed", rec.records[1].Message)
	require.True(t, slog.String("error", "boom").Equal(attrs(rec.records[1])[0]))
	require.Equal(t, slog.LevelWarn, rec.records[2].Level)
}

// TestBridgeLevelFollowsHandler: the zerolog level is the handler's lowest
// enabled level, so disabled events are never built.
func TestBridgeLevelFollowsHandler(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		min  slog.Level
		want string
	}{
		{slog.LevelDebug - 4, "trace"}, {slog.LevelDebug, "debug"}, {slog.LevelInfo, "info"}, {slog.LevelWarn, "warn"}, {slog.LevelError, "error"},
	} {
		require.Equal(t, tc.want, New(slog.New(&recorder{min: tc.min})).GetLevel().String())
	}
}

func TestBridgeThroughJSONHandler(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	z := New(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	z.Debug().Str("request_id", "req-1").Msg("refused")
	var m map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &m))
	require.Equal(t, "DEBUG", m["level"])
	require.Equal(t, "refused", m["msg"])
	require.Equal(t, "req-1", m["request_id"])

	// A line that is not zerolog JSON still arrives, as the message.
	buf.Reset()
	_, err := (&writer{h: slog.NewJSONHandler(&buf, nil)}).Write([]byte("plain text\n"))
	require.NoError(t, err)
	require.Contains(t, buf.String(), `"msg":"plain text"`)
}
