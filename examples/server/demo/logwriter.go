package demo

import (
	"bufio"
	"io"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// logWriter buffers log lines on their way to a file (the demo's stderr)
// so that a busy server does not pay one write(2) per access-log line:
// measured by httpadapter's BenchmarkAccessLog, that syscall was about 12%
// of a status request's CPU time against 7% for formatting the line.
// Lines at warn and above are written out at once, the rest within
// flushEvery, and Close writes out what is left, so nothing is lost on a
// clean shutdown; a crash loses at most flushEvery of info lines.
type logWriter struct {
	mu   sync.Mutex
	buf  *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

// flushEvery bounds how long an info line waits in the buffer.
const flushEvery = 100 * time.Millisecond

// newLogWriter buffers lines for w, writing out info lines every every.
func newLogWriter(w io.Writer, every time.Duration) *logWriter {
	lw := &logWriter{buf: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go lw.flushLoop(every)
	return lw
}

func (lw *logWriter) flushLoop(every time.Duration) {
	defer close(lw.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			lw.mu.Lock()
			_ = lw.buf.Flush()
			lw.mu.Unlock()
		case <-lw.stop:
			return
		}
	}
}

// Write buffers one line (zerolog writes a whole line per call).
func (lw *logWriter) Write(p []byte) (int, error) {
	return lw.WriteLevel(zerolog.NoLevel, p)
}

// WriteLevel buffers one line and writes lines at warn and above out at
// once (zerolog.LevelWriter).
func (lw *logWriter) WriteLevel(l zerolog.Level, p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	n, err := lw.buf.Write(p)
	if err == nil && l >= zerolog.WarnLevel && l != zerolog.NoLevel {
		err = lw.buf.Flush()
	}
	return n, err
}

// Close stops the flusher and writes out the buffered lines.
func (lw *logWriter) Close() error {
	close(lw.stop)
	<-lw.done
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.buf.Flush()
}
