package httpadapter

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
)

// TestUploadStreams uploads a 20 MiB file, generated on the fly, and
// checks the request allocated far less than the file: the bytes flow from
// the request to the BlobStore without being held in memory. It is not
// parallel, so that no other test allocates while it measures.
func TestUploadStreams(t *testing.T) {
	const size = 20 << 20
	b := setup(t, setupOpts{
		svc:     func(o *verification.Options) { o.MaxFileSize = size + 1024 },
		adapter: func(o *Options) { o.MaxUploadBytes = size + 64<<10; o.Logger = nil },
	})
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		_ = mw.WriteField(FieldDocumentType, "passport")
		_ = mw.WriteField(FieldSide, "front")
		fw, _ := mw.CreateFormFile(FieldFile, "big.png")
		_, _ = fw.Write(pngBytes[:8])
		chunk := bytes.Repeat([]byte{0x42}, 32<<10)
		for n := 8; n < size; n += len(chunk) {
			if size-n < len(chunk) {
				chunk = chunk[:size-n]
			}
			if _, err := fw.Write(chunk); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.CloseWithError(mw.Close())
	}()
	r := httptest.NewRequest("POST", b.prefix+"/api/v2/my/verifications/files", pr)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	r.Header.Set("Authorization", "Bearer "+tokOwner)
	rec := httptest.NewRecorder()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.h.ServeHTTP(rec, r)
	runtime.ReadMemStats(&after)
	require.Equal(t, 201, rec.Code, rec.Body.String())
	checkOpenAPI(t, "POST", "/api/v2/my/verifications/files", resp{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()})
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("a %d MiB upload allocated %d KiB", size>>20, allocated>>10)
	require.Less(t, allocated, uint64(2<<20), "the upload was buffered")
}
