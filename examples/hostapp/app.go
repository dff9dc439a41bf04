package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/httpadapter"
	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/storage/postgres"
	"github.com/openkyc/kyc/storage/sqlite"
	"github.com/openkyc/kyc/verification"
)

//go:embed ladder.json
var ladderJSON []byte

// config is what newApp needs; main fills it from flags and the environment,
// tests from t.TempDir().
type config struct {
	// DataDir holds the SQLite database (when DatabaseURL is empty).
	// Document images live in the database in either case.
	DataDir string
	// DatabaseURL selects PostgreSQL when non-empty.
	DatabaseURL string
	// DatabaseSchema is the PostgreSQL schema; empty means
	// postgres.DefaultSchema.
	DatabaseSchema string
	// SigningKeys sign and verify the image URLs of the identity verification API, oldest first
	// (documents.NewSigner); every replica needs the same list. Empty means
	// a random key per start: URLs then fail on other replicas and after a
	// restart.
	SigningKeys []documents.SigningKey
	// MasterKeys wrap the per-subject data keys that encrypt the images,
	// oldest first, the last one current; every replica needs the same
	// list. Empty means the images are stored unencrypted.
	MasterKeys []documents.MasterKey
	// IdentifierKey keys the digests that replace erased subjects'
	// identifiers (verification.Options.IdentifierKey); every replica
	// needs the same one. nil means a random key per start: erased
	// subjects are then not linkable to their audit facts.
	IdentifierKey []byte
	// ImageRetention purges document images that long after their review
	// (verification.Options.ImageRetention); 0 keeps them.
	ImageRetention time.Duration
	// SessionSecret is the HMAC-SHA256 key of session tokens; nil means a
	// random key per start.
	SessionSecret []byte
	// SessionTTL is how long a session token is valid; 0 means 12 hours.
	SessionTTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger; nil means silent.
	Logger *zerolog.Logger
}

// The scopes the host grants its users' sessions: the pending
// request route and the identity verification route.
var userScopes = []string{httpadapter.DefaultPendingRequestScope, "eprospera:person.id_verification.read"}

// Roles in the host's user table.
const (
	roleCustomer = "customer"
	roleAdmin    = "admin"
)

// hostUser is a row of the host application's own user table.
type hostUser struct {
	ID           int64
	Username     string
	PasswordHash [32]byte // SHA-256 for the demo; use bcrypt/argon2id in a real application
	Role         string
	Region       string // becomes the KYC subject's tag
}

func demoUsers() []hostUser {
	mk := func(id int64, name, role, region string) hostUser {
		return hostUser{ID: id, Username: name, PasswordHash: sha256.Sum256([]byte(name + "-password")), Role: role, Region: region}
	}
	return []hostUser{
		mk(1001, "alice", roleCustomer, "eu"),
		mk(1002, "bob", roleCustomer, "us"),
		mk(9001, "admin", roleAdmin, ""),
	}
}

// subjectIdentifier derives the KYC subject's external identifier from the
// host's user id: 43 letters and digits (36-255 are allowed, ER707).
func subjectIdentifier(userID int64) string {
	return fmt.Sprintf("hostappuser%032d", userID)
}

// app is the host application.
type app struct {
	svc    *verification.Service
	secret []byte
	ttl    time.Duration
	now    func() time.Time
	log    zerolog.Logger

	byName map[string]hostUser
	byID   map[int64]hostUser

	mu        sync.Mutex
	clientIDs map[int64]int64 // host user id -> KYC clientId (the subject's ID)
}

// newApp builds the host's whole handler: its own routes and the KYC routes
// under /kyc/, wrapped in its authentication middleware. cleanup stops the
// background job and closes the store.
func newApp(ctx context.Context, cfg config) (http.Handler, func() error, error) {
	log := zerolog.Nop()
	if cfg.Logger != nil {
		log = *cfg.Logger
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	ttl := cfg.SessionTTL
	if ttl <= 0 {
		ttl = 12 * time.Hour
	}
	secret := cfg.SessionSecret
	if len(secret) == 0 {
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, nil, err
		}
	}
	// Step 1: the store, which also keeps the document images and their
	// data keys, so every replica on the database serves every image.
	var (
		store      verification.Store
		closeStore func() error
		files      documents.BlobStore
		dataKeys   documents.KeyStore
	)
	if cfg.DatabaseURL != "" {
		pg, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{Schema: cfg.DatabaseSchema})
		if err != nil {
			return nil, nil, fmt.Errorf("postgres: %w", err)
		}
		store, closeStore, files, dataKeys = pg, pg.Close, pg.Blobs(), pg.DataKeys()
	} else {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, nil, err
		}
		lite, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "kyc.db"), sqlite.Options{})
		if err != nil {
			return nil, nil, fmt.Errorf("sqlite: %w", err)
		}
		store, closeStore, files, dataKeys = lite, lite.Close, lite.Blobs(), lite.DataKeys()
	}
	fail := func(err error) (http.Handler, func() error, error) {
		_ = closeStore()
		return nil, nil, err
	}

	// Step 2: the ladder.
	ladder, err := levels.Load(bytes.NewReader(ladderJSON))
	if err != nil {
		return fail(fmt.Errorf("ladder.json: %w", err))
	}

	// Step 3: the service, with document images sealed (AES-256-GCM under a
	// per-subject data key, itself wrapped by the master key) in the database.
	blobs := files
	if len(cfg.MasterKeys) > 0 {
		keyring, err := documents.KeyringOf(cfg.MasterKeys)
		if err != nil {
			return fail(fmt.Errorf("master keys: %w", err))
		}
		if blobs, err = documents.NewSealedStore(files, keyring, dataKeys); err != nil {
			return fail(err)
		}
	} else {
		log.Warn().Msg("no master key (HOSTAPP_MASTER_KEYS): document images are stored unencrypted")
	}
	if len(cfg.IdentifierKey) == 0 {
		log.Warn().Msg("no identifier key (HOSTAPP_IDENTIFIER_KEY): erased subjects will not be linkable to their audit facts")
	}
	svc, err := verification.New(ladder, store, verification.Options{
		Logger: &log, Blobs: blobs, NowFunc: cfg.Now, IdentifierKey: cfg.IdentifierKey, ImageRetention: cfg.ImageRetention,
	})
	if err != nil {
		return fail(err)
	}

	// Step 4: the adapter, authenticating with what the middleware stored.
	signingKeys := cfg.SigningKeys
	if len(signingKeys) == 0 {
		log.Warn().Msg("no URL signing key (HOSTAPP_URL_SIGNING_KEYS): using a random one, image URLs fail on other replicas and after a restart")
		urlKey := make([]byte, 32)
		if _, err := rand.Read(urlKey); err != nil {
			return fail(err)
		}
		signingKeys = []documents.SigningKey{{ID: "random", Secret: urlKey}}
	}
	signer, err := documents.NewSigner(signingKeys, documents.SignerOptions{Now: cfg.Now})
	if err != nil {
		return fail(fmt.Errorf("URL signing keys: %w", err))
	}
	adapter, err := httpadapter.New(svc, httpadapter.Options{
		Authenticator: httpadapter.ContextAuthenticator{},
		Logger:        cfg.Logger,
		Signer:        signer,
	})
	if err != nil {
		return fail(err)
	}

	// Step 5: the host's users.
	a := &app{
		svc: svc, secret: secret, ttl: ttl, now: now, log: log,
		byName: map[string]hostUser{}, byID: map[int64]hostUser{},
		clientIDs: map[int64]int64{},
	}
	for _, u := range demoUsers() {
		a.byName[u.Username] = u
		a.byID[u.ID] = u
	}

	// Step 8: the host's mux, its own routes and the KYC routes.
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("POST /login", a.login)
	mux.Handle("GET /me", a.requireUser(http.HandlerFunc(a.me)))
	// Step 10: what the host does for its compliance team: record an
	// identity provider's result and erase a subject on request.
	mux.Handle("POST /admin/id-verifications", a.requireAdmin(http.HandlerFunc(a.recordIDVerification)))
	mux.Handle("POST /admin/erasures", a.requireAdmin(http.HandlerFunc(a.erase)))
	adapter.Register(mux, "/kyc")
	adapter.RegisterAdmin(mux, "/kyc") // admin-only: the adapter answers ER713 to anyone else

	// Step 3 (continued): the maintenance runner. One Runner per replica
	// is fine: every job is safe on several replicas at once.
	runner, err := svc.Maintenance(verification.MaintenanceOptions{})
	if err != nil {
		return fail(err)
	}
	bg, stopBG := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = runner.Run(bg) // each job logs its failures and what it did
	}()
	cleanup := func() error {
		stopBG()
		<-done
		return closeStore()
	}

	// Step 7: the middleware wraps everything.
	// Guard answers the paths ServeMux would redirect in the adapter's dialects.
	return a.authenticate(adapter.Guard("/kyc", mux)), cleanup, nil
}

// ---- Step 5: session tokens ----

// issueToken returns base64url("<uid>:<exp>") + "." + base64url(HMAC-SHA256).
func (a *app) issueToken(uid int64, exp time.Time) string {
	payload := base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(uid, 10) + ":" + strconv.FormatInt(exp.Unix(), 10)))
	return payload + "." + base64.RawURLEncoding.EncodeToString(a.mac(payload))
}

func (a *app) mac(payload string) []byte {
	m := hmac.New(sha256.New, a.secret)
	m.Write([]byte(payload))
	return m.Sum(nil)
}

var (
	errBadToken     = errors.New("invalid session token")
	errExpiredToken = errors.New("session expired")
)

// verifyToken checks the signature (in constant time) before reading the
// payload, then the expiry, and returns the user id.
func (a *app) verifyToken(tok string) (int64, error) {
	payload, sig, ok := strings.Cut(tok, ".")
	if !ok {
		return 0, errBadToken
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, a.mac(payload)) {
		return 0, errBadToken
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return 0, errBadToken
	}
	uidS, expS, ok := strings.Cut(string(raw), ":")
	if !ok {
		return 0, errBadToken
	}
	uid, err1 := strconv.ParseInt(uidS, 10, 64)
	exp, err2 := strconv.ParseInt(expS, 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errBadToken
	}
	if !a.now().Before(time.Unix(exp, 0)) {
		return 0, errExpiredToken
	}
	return uid, nil
}

// ---- Step 6: one KYC subject per customer ----

// clientID returns the KYC subject of a customer, creating it on first use.
func (a *app) clientID(ctx context.Context, u hostUser) (int64, error) {
	a.mu.Lock()
	id, ok := a.clientIDs[u.ID]
	a.mu.Unlock()
	if ok {
		return id, nil
	}
	var tags []string
	if u.Region != "" {
		tags = []string{u.Region}
	}
	// Create or return, safe against two first logins at once.
	sub, err := a.svc.EnsureSubject(ctx, subjectIdentifier(u.ID), tags)
	if err != nil {
		return 0, err
	}
	a.mu.Lock()
	a.clientIDs[u.ID] = sub.ID
	a.mu.Unlock()
	return sub.ID, nil
}

// ---- Step 7: the middleware ----

type userKey struct{}

// authenticate verifies a Bearer session token when one is sent and stores
// both the host user (for the host's routes) and the KYC Principal (for the
// adapter). A bad token is refused here: requireUser answers 401 on the
// host's routes, and WithAuthError makes the adapter answer ER702 / ER701.
func (a *app) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if h == "" {
			next.ServeHTTP(w, r) // no credentials: each route decides
			return
		}
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			next.ServeHTTP(w, r.WithContext(httpadapter.WithAuthError(r.Context(), httpadapter.ErrCredentialsInvalid)))
			return
		}
		uid, err := a.verifyToken(tok)
		u, known := a.byID[uid]
		if err == nil && !known {
			err = errBadToken // a deleted host user
		}
		if err != nil {
			reason := httpadapter.ErrCredentialsInvalid
			if errors.Is(err, errExpiredToken) {
				reason = httpadapter.ErrCredentialsExpired
			}
			next.ServeHTTP(w, r.WithContext(httpadapter.WithAuthError(r.Context(), reason)))
			return
		}
		var p httpadapter.Principal
		switch u.Role {
		case roleAdmin:
			p = httpadapter.Principal{Credential: httpadapter.Admin, AdminID: u.ID} // AdminTags nil: sees every client
		default:
			cid, err := a.clientID(r.Context(), u)
			if err != nil {
				a.log.Error().Err(err).Msg("resolving the KYC subject")
				writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal_error"})
				return
			}
			p = httpadapter.Principal{Credential: httpadapter.User, SubjectID: cid, Scopes: userScopes}
		}
		ctx := context.WithValue(r.Context(), userKey{}, u)
		ctx = httpadapter.WithPrincipal(ctx, p)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// requireUser guards the host's own routes.
func (a *app) requireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.Context().Value(userKey{}).(hostUser); !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hostapp"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "unauthorized"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ---- the host's own routes ----

func (a *app) login(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10)).Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	u, ok := a.byName[in.Username]
	sum := sha256.Sum256([]byte(in.Password))
	if !ok || subtle.ConstantTimeCompare(sum[:], u.PasswordHash[:]) != 1 {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_credentials"})
		return
	}
	out := map[string]any{"role": u.Role}
	if u.Role == roleCustomer {
		// Step 6: the customer's KYC subject exists from the first login on.
		cid, err := a.clientID(r.Context(), u)
		if err != nil {
			a.log.Error().Err(err).Msg("creating the KYC subject")
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal_error"})
			return
		}
		out["clientId"] = cid
	}
	exp := a.now().Add(a.ttl)
	out["token"] = a.issueToken(u.ID, exp)
	out["expiresAt"] = exp.UTC().Format(time.RFC3339)
	writeJSON(w, http.StatusOK, out)
}

func (a *app) me(w http.ResponseWriter, r *http.Request) {
	u := r.Context().Value(userKey{}).(hostUser)
	out := map[string]any{"id": u.ID, "username": u.Username, "role": u.Role}
	if p, ok := httpadapter.PrincipalFromContext(r.Context()); ok && p.Credential == httpadapter.User {
		out["clientId"] = p.SubjectID
	}
	writeJSON(w, http.StatusOK, out)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
