package openapitest

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// recordEnv names the directory the httpadapter tests record their answers
// in (see httpadapter/openapi_test.go).
const recordEnv = "OPENKYC_OPENAPI_RECORD"

// recordedAnswer is one recorded answer (httpadapter's format).
type recordedAnswer struct {
	Method      string `json:"method"`
	Path        string `json:"path"`
	Status      int    `json:"status"`
	ContentType string `json:"contentType"`
	Body        []byte `json:"body"`
}

// TestRecordedAnswers validates every answer the httpadapter tests saw
// (all routes, all three error dialects, every refusal they provoke)
// against the document. Run the httpadapter tests with
// OPENKYC_OPENAPI_RECORD=<dir> first, then this test with the same
// variable; .ci/run does, and requires answers to be there.
func TestRecordedAnswers(t *testing.T) {
	t.Parallel()
	dir := os.Getenv(recordEnv)
	if dir == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: CI must record the httpadapter tests' answers and validate them", recordEnv)
		}
		t.Skipf("set %s=<dir> and run `go test ./httpadapter` in the root module first, then this test with the same variable", recordEnv)
	}
	files, err := filepath.Glob(filepath.Join(dir, "httpadapter-*.jsonl"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no recorded answers in %s", dir)
	n := 0
	statuses := map[int]bool{}
	for _, f := range files {
		fh, err := os.Open(f)
		require.NoError(t, err)
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 4<<20), 4<<20)
		for sc.Scan() {
			var a recordedAnswer
			require.NoError(t, json.Unmarshal(sc.Bytes(), &a))
			req, err := http.NewRequest(a.Method, "http://127.0.0.1"+a.Path, nil)
			require.NoError(t, err, "%s %s", a.Method, a.Path)
			checkResponse(t, req, a.Status, http.Header{"Content-Type": {a.ContentType}}, a.Body)
			n++
			statuses[a.Status] = true
		}
		require.NoError(t, sc.Err())
		fh.Close()
	}
	require.Greater(t, n, 100, "too few recorded answers")
	for _, st := range []int{200, 201, 400, 401, 403, 404, 409, 413, 415} {
		require.True(t, statuses[st], "no recorded answer with status %d", st)
	}
	t.Logf("%d recorded answers validated (statuses %v)", n, statuses)
}
