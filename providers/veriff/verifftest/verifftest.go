// Package verifftest is a stand-in for Veriff in tests and demos: an
// http.Handler answering the parts of Veriff's public API the adapter
// calls, in the documented shapes and with the documented authentication
// (X-AUTH-CLIENT and X-HMAC-SIGNATURE checked on every call), and builders
// for signed decision webhooks. Point veriff.Config.BaseURL at an
// httptest.Server running it.
//
//	api := verifftest.NewServer("demo-veriff-key", "demo-veriff-secret")
//	srv := httptest.NewServer(api)
//	defer srv.Close()
//	p, _ := veriff.New(veriff.Config{APIKey: "demo-veriff-key", SharedSecret: "demo-veriff-secret", BaseURL: srv.URL})
package verifftest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image/color"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/openkyc/kyc/providers/internal/sample"
)

// Image is one stored image of a session.
type Image struct {
	// ID is the media id.
	ID string
	// Context is Veriff's label: "document-front", "document-back", "face",
	// "document-front-pre", ...
	Context string
	// Mimetype is the answer's Content-Type, e.g. "image/png".
	Mimetype string
	// Data is the file.
	Data []byte
}

// Server answers POST /v1/sessions, GET /v1/sessions/{id}/media,
// GET /v1/sessions/{id}/decision and GET /v1/media/{id}. It is safe for
// concurrent use.
type Server struct {
	// Intercept, when set, sees every request first; returning true means
	// it wrote the answer itself. Tests use it to inject 5xx answers,
	// delays and malformed bodies.
	Intercept func(w http.ResponseWriter, r *http.Request) bool

	apiKey, secret string
	mux            *http.ServeMux

	mu        sync.Mutex
	seq       int
	sessions  map[string]*session
	media     map[string]Image
	calls     map[string]int
	sessionOf map[string]string
}

type session struct {
	vendorData string
	images     []string
	decision   []byte
}

// NewServer returns a server for the integration with this API key and
// shared secret.
func NewServer(apiKey, sharedSecret string) *Server {
	s := &Server{
		apiKey: apiKey, secret: sharedSecret,
		mux:       http.NewServeMux(),
		sessions:  map[string]*session{},
		media:     map[string]Image{},
		calls:     map[string]int{},
		sessionOf: map[string]string{},
	}
	s.mux.HandleFunc("POST /v1/sessions", s.createSession)
	s.mux.HandleFunc("GET /v1/sessions/{id}/media", s.listMedia)
	s.mux.HandleFunc("GET /v1/sessions/{id}/decision", s.decision)
	s.mux.HandleFunc("GET /v1/media/{id}", s.openMedia)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.calls[r.Method+" "+route(r.URL.Path)]++
	s.mu.Unlock()
	if s.Intercept != nil && s.Intercept(w, r) {
		return
	}
	s.mux.ServeHTTP(w, r)
}

// Calls reports how many requests reached the route, e.g.
// Calls("GET /v1/sessions/{id}/media"), interceptions included.
func (s *Server) Calls(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[route]
}

func route(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(parts) == 4 && parts[1] == "sessions":
		return "/v1/sessions/{id}/" + parts[3]
	case len(parts) == 3 && parts[1] == "media":
		return "/v1/media/{id}"
	}
	return path
}

// AddSession registers a session with the default images: a front, a back
// and a face PNG, plus a "document-front-pre" image the adapter must skip.
func (s *Server) AddSession(id, vendorData string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addSessionLocked(id, vendorData)
}

func (s *Server) addSessionLocked(id, vendorData string) {
	ss := &session{vendorData: vendorData}
	s.sessions[id] = ss
	for i, c := range []struct {
		context string
		col     color.RGBA
	}{
		{"document-front-pre", sample.Other},
		{"document-front", sample.Front},
		{"document-back", sample.Back},
		{"face", sample.Face},
	} {
		mid := fmt.Sprintf("%s-m%d", id, i)
		s.media[mid] = Image{ID: mid, Context: c.context, Mimetype: "image/png", Data: sample.PNG(c.col)}
		s.sessionOf[mid] = id
		ss.images = append(ss.images, mid)
	}
}

// SetImages replaces a session's images (ids must be unique across sessions).
func (s *Server) SetImages(sessionID string, images ...Image) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.sessions[sessionID]
	if ss == nil {
		ss = &session{}
		s.sessions[sessionID] = ss
	}
	ss.images = nil
	for _, img := range images {
		s.media[img.ID] = img
		s.sessionOf[img.ID] = sessionID
		ss.images = append(ss.images, img.ID)
	}
}

// SetDecision makes GET /v1/sessions/{id}/decision answer body (for
// example DecisionBody's output) instead of {"status":"success","verification":null}.
func (s *Server) SetDecision(sessionID string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss := s.sessions[sessionID]; ss != nil {
		ss.decision = body
	}
}

// VendorData returns what the session was created with, and whether it exists.
func (s *Server) VendorData(sessionID string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.sessions[sessionID]
	if !ok {
		return "", false
	}
	return ss.vendorData, true
}

func (s *Server) createSession(w http.ResponseWriter, r *http.Request) {
	body, ok := s.authenticate(w, r, nil)
	if !ok {
		return
	}
	var req struct {
		Verification *struct {
			VendorData string `json:"vendorData"`
			Callback   string `json:"callback"`
		} `json:"verification"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.Verification == nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"status": "fail", "code": "1102", "message": "Mandatory parameters are missing from the request."})
		return
	}
	s.mu.Lock()
	s.seq++
	id := fmt.Sprintf("00000000-0000-4000-8000-%012d", s.seq)
	s.addSessionLocked(id, req.Verification.VendorData)
	s.mu.Unlock()
	host := "http://" + r.Host
	writeJSON(w, http.StatusCreated, map[string]any{
		"status": "success",
		"verification": map[string]any{
			"id":           id,
			"url":          host + "/v/" + id,
			"vendorData":   req.Verification.VendorData,
			"host":         host,
			"status":       "created",
			"sessionToken": "test-session-token",
		},
	})
}

func (s *Server) listMedia(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, ok := s.authenticate(w, r, []byte(id)); !ok {
		return
	}
	s.mu.Lock()
	ss := s.sessions[id]
	var images []map[string]any
	if ss != nil {
		for _, mid := range ss.images {
			img := s.media[mid]
			images = append(images, map[string]any{
				"id": img.ID, "name": img.Context, "context": img.Context,
				"timestamp": nil, "size": len(img.Data), "mimetype": img.Mimetype,
				"url": "http://" + r.Host + "/v1/media/" + img.ID, "sessionId": id,
			})
		}
	}
	s.mu.Unlock()
	if ss == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"status": "fail", "code": "1404", "message": "Session not found"})
		return
	}
	if images == nil {
		images = []map[string]any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "success", "videos": []any{}, "images": images})
}

func (s *Server) decision(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, ok := s.authenticate(w, r, []byte(id)); !ok {
		return
	}
	s.mu.Lock()
	ss := s.sessions[id]
	var body []byte
	if ss != nil {
		body = ss.decision
	}
	s.mu.Unlock()
	switch {
	case ss == nil:
		writeJSON(w, http.StatusNotFound, map[string]any{"status": "fail", "code": "1404", "message": "Session not found"})
	case body == nil:
		writeJSON(w, http.StatusOK, map[string]any{"status": "success", "verification": nil})
	default:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}
}

func (s *Server) openMedia(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, ok := s.authenticate(w, r, []byte(id)); !ok {
		return
	}
	s.mu.Lock()
	img, ok := s.media[id]
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"status": "fail", "code": "1404", "message": "Media not found"})
		return
	}
	w.Header().Set("Content-Type", img.Mimetype)
	_, _ = w.Write(img.Data)
}

// authenticate checks X-AUTH-CLIENT and, for GET requests or when present,
// X-HMAC-SIGNATURE over signed (nil: the request body). It returns the body.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, signed []byte) ([]byte, bool) {
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, 1<<20)); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"status": "fail", "code": "1101", "message": "Unreadable body"})
		return nil, false
	}
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("X-AUTH-CLIENT")), []byte(s.apiKey)) != 1 {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"status": "fail", "code": "1801", "message": "Mandatory X-AUTH-CLIENT header containing the API key is missing from the request."})
		return nil, false
	}
	if signed == nil {
		signed = buf.Bytes()
	}
	sig := r.Header.Get("X-HMAC-SIGNATURE")
	if sig == "" && r.Method != http.MethodGet {
		return buf.Bytes(), true // POST /v1/sessions needs no signature
	}
	got, err := hex.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(s.secret, signed)) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"status": "fail", "code": "1812", "message": "Signature is not valid."})
		return nil, false
	}
	return buf.Bytes(), true
}

func mac(secret string, msg []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(msg)
	return m.Sum(nil)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Decision describes a decision webhook to build.
type Decision struct {
	// SessionID is verification.id.
	SessionID string
	// AttemptID is verification.attemptId.
	AttemptID string
	// VendorData is verification.vendorData (the host's subject reference).
	VendorData string
	// Status is verification.status: "approved", "declined",
	// "resubmission_requested", "expired", "abandoned", "review".
	Status string
	// Reason and ReasonCode are verification.reason / reasonCode (null when empty / 0).
	Reason string
	// ReasonCode: see Reason.
	ReasonCode int
	// DecisionTime is verification.decisionTime.
	DecisionTime time.Time
	// DocumentType, DocumentNumber, DocumentCountry and DocumentValidUntil
	// ("2006-01-02") fill verification.document when any is set.
	DocumentType string
	// DocumentNumber: see DocumentType.
	DocumentNumber string
	// DocumentCountry: see DocumentType.
	DocumentCountry string
	// DocumentValidUntil: see DocumentType.
	DocumentValidUntil string
}

// Codes are the documented status codes per status.
var Codes = map[string]int{
	"approved": 9001, "declined": 9102, "resubmission_requested": 9103,
	"expired": 9104, "abandoned": 9104, "review": 9121,
}

// DecisionBody encodes d as Veriff's decision webhook body.
func DecisionBody(d Decision) []byte {
	v := map[string]any{
		"id":             d.SessionID,
		"attemptId":      d.AttemptID,
		"vendorData":     nullable(d.VendorData),
		"status":         d.Status,
		"code":           Codes[d.Status],
		"reason":         nullable(d.Reason),
		"reasonCode":     nil,
		"decisionTime":   d.DecisionTime.UTC().Format("2006-01-02T15:04:05.000Z"),
		"acceptanceTime": d.DecisionTime.Add(-3 * time.Minute).UTC().Format("2006-01-02T15:04:05.000Z"),
		"person":         map[string]any{"firstName": nil, "lastName": nil},
		"document":       nil,
	}
	if d.ReasonCode != 0 {
		v["reasonCode"] = d.ReasonCode
	}
	if d.DocumentType != "" || d.DocumentNumber != "" || d.DocumentCountry != "" || d.DocumentValidUntil != "" {
		v["document"] = map[string]any{
			"type": nullable(d.DocumentType), "number": nullable(d.DocumentNumber),
			"country": nullable(d.DocumentCountry), "validFrom": nil, "validUntil": nullable(d.DocumentValidUntil),
		}
	}
	b, err := json.Marshal(map[string]any{"status": "success", "verification": v, "technicalData": map[string]any{"ip": nil}})
	if err != nil {
		panic(err) // maps of strings, numbers and nil always encode
	}
	return b
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Sign returns the X-HMAC-SIGNATURE of body under secret.
func Sign(secret string, body []byte) string { return hex.EncodeToString(mac(secret, body)) }

// NewWebhookRequest builds the POST Veriff would send to target with body,
// signed for the integration (apiKey, secret).
func NewWebhookRequest(ctx context.Context, target, apiKey, secret string, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-AUTH-CLIENT", apiKey)
	req.Header.Set("X-HMAC-SIGNATURE", Sign(secret, body))
	return req, nil
}
