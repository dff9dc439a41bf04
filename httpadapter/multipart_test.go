package httpadapter

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
)

// padReader yields n bytes of 'a' without holding them in memory.
type padReader struct{ n int64 }

func (p *padReader) Read(b []byte) (int, error) {
	if p.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.n {
		b = b[:p.n]
	}
	for i := range b {
		b[i] = 'a'
	}
	p.n -= int64(len(b))
	return len(b), nil
}

// hostileForm is an upload form whose documentType part carries a header
// of pad bytes before a valid side and file.
func hostileForm(pad int64) io.Reader {
	head := "--B\r\nContent-Disposition: form-data; name=\"documentType\"\r\nX-Padding: "
	tail := "\r\n\r\npassport\r\n--B\r\nContent-Disposition: form-data; name=\"side\"\r\n\r\nfront\r\n" +
		"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.png\"\r\n\r\n" + string(pngBytes) + "\r\n--B--\r\n"
	return io.MultiReader(strings.NewReader(head), &padReader{pad}, strings.NewReader(tail))
}

// TestUploadCapsWhatComesBeforeTheFile: the preamble, the fields and the
// part headers before the file part are capped at 64 KiB together (the
// file itself is bounded by MaxUploadBytes only); over the cap the upload
// is refused with 413 in the route's dialect and stores nothing.
func TestUploadCapsWhatComesBeforeTheFile(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{
		svc:     func(o *verification.Options) { o.MaxFileSize = 1 << 20 },
		adapter: func(o *Options) { o.MaxUploadBytes = 16 << 20 },
	})
	files := func() int {
		list, err := b.store.ListFiles(b.ctx, verification.FileFilter{SubjectID: b.owner.ID})
		require.NoError(t, err)
		return len(list)
	}
	send := func(body []byte) resp {
		return b.do(req{method: "POST", path: "/api/v2/my/verifications/files", token: tokOwner, body: body, ctype: "multipart/form-data; boundary=B"})
	}
	read := func(r io.Reader) []byte {
		body, err := io.ReadAll(r)
		require.NoError(t, err)
		return body
	}
	part := func(name, header, value string) string {
		return fmt.Sprintf("--B\r\nContent-Disposition: form-data; name=%q\r\n%s\r\n%s\r\n", name, header, value)
	}
	file := "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.png\"\r\n\r\n" + string(pngBytes) + "\r\n--B--\r\n"
	bigFile := "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.png\"\r\n\r\n" +
		string(pngBytes) + strings.Repeat("\x07", 512<<10) + "\r\n--B--\r\n"
	before := files()

	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"one 100 KiB part header", read(hostileForm(100 << 10))},
		{"one 10 MiB part header", read(hostileForm(10<<20 - 4<<10))},
		{"many small headers", []byte(part("documentType", strings.Repeat("X-A: bbbbbbbbbbbbb\r\n", 4000), "passport") + part("side", "", "front") + file)},
		{"headers spread over the fields", []byte(part("documentType", "X-A: "+strings.Repeat("a", 40<<10)+"\r\n", "passport") +
			part("side", "X-A: "+strings.Repeat("a", 40<<10)+"\r\n", "front") + file)},
		{"a long preamble", []byte(strings.Repeat("ignored preamble\r\n", 5<<10) + part("documentType", "", "passport") + part("side", "", "front") + file)},
		{"a long file part header", []byte(part("documentType", "", "passport") + part("side", "", "front") +
			"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.png\"\r\nX-A: " + strings.Repeat("a", 80<<10) + "\r\n\r\n" + string(pngBytes) + "\r\n--B--\r\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := send(tc.body)
			e := requireV2Error(t, r, http.StatusRequestEntityTooLarge, CodeTooLarge)
			require.NotContains(t, e["message"], "aaaa")
		})
	}
	require.Equal(t, before, files(), "refused uploads store nothing")

	// Under the cap, and a file far larger than it: accepted.
	r := send([]byte(part("documentType", "X-A: "+strings.Repeat("a", 20<<10)+"\r\n", "passport") + part("side", "", "front") + bigFile))
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	require.EqualValues(t, len(pngBytes)+512<<10, r.object(t)["size"])
}

// TestUploadHostileHeadersMemory sends 32 concurrent uploads, each with a
// 10 MiB part header before the file, to a real server and samples the
// heap meanwhile: it grows by less than 32 MiB (mime/multipart alone would
// hold each header in memory: hundreds of MiB). Not parallel, so that no
// other test allocates while it measures.
func TestUploadHostileHeadersMemory(t *testing.T) {
	const clients, pad = 32, 10<<20 - 4<<10
	b := setup(t, setupOpts{adapter: func(o *Options) { o.MaxUploadBytes = 16 << 20; o.Logger = nil }})
	srv := httptest.NewServer(b.h)
	t.Cleanup(srv.Close)

	var base runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
		}
	}()

	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses = map[int]int{}
	)
	for range clients {
		wg.Go(func() {
			rq, err := http.NewRequest("POST", srv.URL+b.prefix+"/api/v2/my/verifications/files", hostileForm(pad))
			if err != nil {
				t.Error(err)
				return
			}
			rq.Header.Set("Content-Type", "multipart/form-data; boundary=B")
			rq.Header.Set("Authorization", "Bearer "+tokOwner)
			rs, err := srv.Client().Do(rq)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				// The server may close the connection while the client
				// is still sending the rest of a refused body.
				statuses[0]++
				return
			}
			_, _ = io.Copy(io.Discard, rs.Body)
			_ = rs.Body.Close()
			statuses[rs.StatusCode]++
		})
	}
	wg.Wait()
	close(stop)
	<-sampled
	growth := int64(peak.Load()) - int64(base.HeapAlloc)
	t.Logf("%d uploads with a %d KiB part header: heap %d KiB before, peak %d KiB (+%d KiB); statuses %v",
		clients, pad>>10, base.HeapAlloc>>10, peak.Load()>>10, growth>>10, statuses)
	require.Less(t, growth, int64(32<<20), "the server held the hostile headers in memory")
	require.Zero(t, statuses[http.StatusCreated], "no hostile upload is accepted")
	require.Positive(t, statuses[http.StatusRequestEntityTooLarge], "hostile uploads are answered 413")
}
