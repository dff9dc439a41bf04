package demo

import (
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLogWriter(t *testing.T) {
	t.Parallel()
	t.Run("info lines wait for the flusher, warn lines do not", func(t *testing.T) {
		t.Parallel()
		var out syncBuffer
		lw := newLogWriter(&out, time.Hour) // the ticker never fires here
		log := zerolog.New(lw)

		log.Info().Msg("buffered")
		assert.NotContains(t, out.String(), "buffered", "an info line is buffered")
		log.Warn().Msg("at once")
		assert.Contains(t, out.String(), "buffered", "a warn line writes out the buffer before it")
		assert.Contains(t, out.String(), "at once", "a warn line is written out immediately")

		log.Info().Msg("last")
		require.NoError(t, lw.Close())
		assert.Contains(t, out.String(), "last", "Close writes out what is buffered")
	})
	t.Run("the flusher writes info lines out", func(t *testing.T) {
		t.Parallel()
		var out syncBuffer
		lw := newLogWriter(&out, 5*time.Millisecond)
		defer func() { require.NoError(t, lw.Close()) }()
		log := zerolog.New(lw)
		log.Info().Msg("soon")
		require.Eventually(t, func() bool { return len(out.String()) > 0 }, 5*time.Second, time.Millisecond)
		assert.Contains(t, out.String(), "soon")
	})
}
