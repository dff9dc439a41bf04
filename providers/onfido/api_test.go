package onfido_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/providers"
	"github.com/openkyc/kyc/providers/onfido"
)

const (
	apiToken   = "api_sandbox.test-token"
	workflowID = "221f9d24-cf72-4762-ac4a-01bf3ccc09dd"
)

// api answers POST /v3.6/applicants and POST /v3.6/workflow_runs with the
// documented objects (testdata/applicant_created.json,
// workflow_run_created.json), checking the token. fail, when set, answers
// a request instead.
type api struct {
	t    *testing.T
	mu   sync.Mutex
	reqs []recorded
	fail func(w http.ResponseWriter, r *http.Request, n int) bool
	n    atomic.Int32
}

type recorded struct {
	path string
	body map[string]any
}

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(a.n.Add(1))
	if a.fail != nil && a.fail(w, r, n) {
		return
	}
	if r.Header.Get("Authorization") != "Token token="+apiToken {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":{"type":"authorization_error","message":"Authorization error: please re-check your credentials"}}`))
		return
	}
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		w.WriteHeader(http.StatusUnprocessableEntity)
		return
	}
	a.mu.Lock()
	a.reqs = append(a.reqs, recorded{r.URL.Path, body})
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v3.6/applicants":
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(fixture(a.t, "applicant_created.json"))
	case r.Method == http.MethodPost && r.URL.Path == "/v3.6/workflow_runs":
		if body["applicant_id"] != "7b0a9d0e-1c2f-4a3b-8c4d-5e6f70819203" || body["workflow_id"] != workflowID {
			w.WriteHeader(http.StatusUnprocessableEntity)
			_, _ = w.Write([]byte(`{"error":{"type":"validation_error","message":"There was a validation error on this request"}}`))
			return
		}
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(fixture(a.t, "workflow_run_created.json"))
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func setupAPI(t *testing.T) (*api, *onfido.Provider) {
	t.Helper()
	a := &api{t: t}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	p := newProvider(t, onfido.Config{
		APIToken: apiToken, WorkflowID: workflowID, BaseURL: srv.URL,
		HTTP: providers.HTTPOptions{Timeout: 200 * time.Millisecond, InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond},
	})
	return a, p
}

func TestStartSession(t *testing.T) {
	t.Parallel()
	a, p := setupAPI(t)
	s, err := p.StartSession(context.Background(), providers.StartParams{
		SubjectRef: "user-0001", FirstName: "Jane", LastName: "Doe", ReturnURL: "https://host.example/done", Locale: "en_US",
	})
	require.NoError(t, err)
	assert.Equal(t, providers.Session{
		Provider: "onfido", ID: "2f152409-d6c4-4711-8750-48517f99a8d6",
		URL:        "https://eu.onfido.app/l/2f152409-d6c4-4711-8750-48517f99a8d6",
		SubjectRef: "7b0a9d0e-1c2f-4a3b-8c4d-5e6f70819203", ExpiresAt: ts("2022-12-29T16:50:00Z"),
	}, s, "the session is the workflow run; decisions name the applicant")
	require.Len(t, a.reqs, 2)
	assert.Equal(t, recorded{"/v3.6/applicants", map[string]any{"first_name": "Jane", "last_name": "Doe"}}, a.reqs[0])
	assert.Equal(t, recorded{"/v3.6/workflow_runs", map[string]any{
		"workflow_id": workflowID, "applicant_id": "7b0a9d0e-1c2f-4a3b-8c4d-5e6f70819203", "customer_user_id": "user-0001",
		"link": map[string]any{"completed_redirect_url": "https://host.example/done", "language": "en_US"},
	}}, a.reqs[1])
}

func TestStartSessionRetriesAndErrors(t *testing.T) {
	t.Parallel()
	t.Run("5xx then success on each call", func(t *testing.T) {
		t.Parallel()
		a, p := setupAPI(t)
		a.fail = func(w http.ResponseWriter, r *http.Request, n int) bool {
			if n == 1 || n == 3 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return true
			}
			return false
		}
		_, err := p.StartSession(context.Background(), providers.StartParams{SubjectRef: "u1"})
		require.NoError(t, err)
		assert.EqualValues(t, 4, a.n.Load())
	})
	t.Run("timeout then success", func(t *testing.T) {
		t.Parallel()
		a, p := setupAPI(t)
		a.fail = func(w http.ResponseWriter, r *http.Request, n int) bool {
			if n == 1 {
				time.Sleep(300 * time.Millisecond)
			}
			return false
		}
		_, err := p.StartSession(context.Background(), providers.StartParams{SubjectRef: "u1"})
		require.NoError(t, err)
		assert.EqualValues(t, 3, a.n.Load())
	})
	t.Run("outage", func(t *testing.T) {
		t.Parallel()
		a, p := setupAPI(t)
		a.fail = func(w http.ResponseWriter, r *http.Request, n int) bool {
			w.WriteHeader(http.StatusInternalServerError)
			return true
		}
		_, err := p.StartSession(context.Background(), providers.StartParams{SubjectRef: "u1"})
		require.ErrorIs(t, err, providers.ErrUnavailable)
		assert.EqualValues(t, 3, a.n.Load())
	})
	t.Run("wrong token is rejected, not retried", func(t *testing.T) {
		t.Parallel()
		a, p := setupAPI(t)
		a.fail = func(w http.ResponseWriter, r *http.Request, n int) bool {
			r.Header.Set("Authorization", "Token token=wrong")
			return false
		}
		_, err := p.StartSession(context.Background(), providers.StartParams{SubjectRef: "u1"})
		require.ErrorIs(t, err, providers.ErrRejected)
		var ce *providers.CallError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, http.StatusUnauthorized, ce.StatusCode)
		assert.EqualValues(t, 1, a.n.Load())
	})
	for name, answer := range map[string]string{
		"malformed applicant":    `{"id":`,
		"applicant without id":   `{"first_name":"Jane"}`,
		"malformed workflow run": `{"id":"2f15`,
		"run without link":       `{"id":"2f152409-d6c4-4711-8750-48517f99a8d6","status":"awaiting_input"}`,
		"run with an odd id":     `{"id":"../x","link":{"url":"https://eu.onfido.app/l/x"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a, p := setupAPI(t)
			target := "/v3.6/workflow_runs"
			if name == "malformed applicant" || name == "applicant without id" {
				target = "/v3.6/applicants"
			}
			a.fail = func(w http.ResponseWriter, r *http.Request, n int) bool {
				if r.URL.Path != target {
					return false
				}
				w.WriteHeader(http.StatusCreated)
				_, _ = w.Write([]byte(answer))
				return true
			}
			_, err := p.StartSession(context.Background(), providers.StartParams{SubjectRef: "u1"})
			require.ErrorIs(t, err, providers.ErrBadResponse)
		})
	}
	t.Run("missing API settings", func(t *testing.T) {
		t.Parallel()
		p := newProvider(t, onfido.Config{})
		_, err := p.StartSession(context.Background(), providers.StartParams{SubjectRef: "u1"})
		require.ErrorIs(t, err, providers.ErrInvalidParams)
		assert.ErrorContains(t, err, "WorkflowID")
	})
	t.Run("missing subject", func(t *testing.T) {
		t.Parallel()
		a, p := setupAPI(t)
		_, err := p.StartSession(context.Background(), providers.StartParams{})
		require.ErrorIs(t, err, providers.ErrInvalidParams)
		assert.EqualValues(t, 0, a.n.Load())
	})
}
