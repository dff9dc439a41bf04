// Command hostapp shows how an existing Go application embeds openkyc: it
// keeps its own http.ServeMux, its own routes, its own users and its own
// session tokens, and mounts the KYC routes under /kyc/ behind its own
// authentication. This is the file teams copy; every step below is marked
// "Step N" in the code.
//
// Run it with
//
//	go run ./examples/hostapp                       # SQLite in ./hostapp-data
//	DATABASE_URL=postgres://... go run ./examples/hostapp   # PostgreSQL
//
// then
//
//	TOKEN=$(curl -s localhost:8090/login -d '{"username":"alice","password":"alice-password"}' | jq -r .token)
//	curl -s localhost:8090/me -H "Authorization: Bearer $TOKEN"
//	curl -s localhost:8090/kyc/api/v2/user/verification-status -H "Authorization: Bearer $TOKEN"
//	ADMIN=$(curl -s localhost:8090/login -d '{"username":"admin","password":"admin-password"}' | jq -r .token)
//	curl -s 'localhost:8090/kyc/api/v2/verifications?limit=10' -H "Authorization: Bearer $ADMIN"
//
// Flags: -addr (default 127.0.0.1:8090), -data (default ./hostapp-data: the
// SQLite database when DATABASE_URL is unset), -log-level, -image-retention
// (e.g. 2160h; default 0 keeps images), -url-signing-keys and -master-keys
// (as the variables below; prefer the variables, since flags show in ps).
// Environment:
//
//   - DATABASE_URL: a postgres:// URL or key=value DSN; PostgreSQL instead of
//     SQLite. HOSTAPP_DATABASE_SCHEMA: its schema (default "openkyc").
//   - HOSTAPP_SESSION_SECRET: the HMAC key of the session tokens, at least 32
//     bytes; a random one per start when unset, so sessions end at restart.
//   - HOSTAPP_URL_SIGNING_KEYS: the keys of the signed image URLs (the identity verification API),
//     "id:secret[:retired-at],..." oldest first, secrets in base64 of at least
//     32 random bytes (openssl rand -base64 32), retired-at in RFC 3339. The
//     last key that is not retired signs; every listed key verifies. Unset:
//     a random key per start, so URLs fail on other replicas and after a
//     restart (a warning says so).
//   - HOSTAPP_MASTER_KEYS: the keys that wrap each subject's data key,
//     "id:key,..." oldest first, the last one current, keys in base64 of 32
//     random bytes. Unset: images are stored unencrypted (a warning says so).
//   - HOSTAPP_IDENTIFIER_KEY: base64 of at least 32 random bytes, the HMAC
//     key of the digests that replace erased subjects' identifiers, so that
//     whoever holds it can link an identifier to its erased audit facts.
//     Unset: a random key per start (a warning says so). Never rotate it:
//     digests made under an old key stay under that key.
//
// Every replica needs the same four secrets. Rotating the URL signing key
// without failing a URL, in two roll-outs: first deploy "k2:NEW,k1:OLD"
// everywhere (k2 verifies, k1, the last active key, still signs); then
// deploy "k1:OLD:<RFC 3339 time when this roll-out will be done>,k2:NEW"
// (k2 signs; k1 verifies the URLs it signed, which expire an hour after
// their signing at most); an hour after that time, drop k1.
// Rotating the master key: deploy "2025-01:OLD,2025-06:NEW" (new data keys
// are wrapped by 2025-06, old ones still unwrap), run
// "OPENKYC_MASTER_KEYS=<that list> openkyc --operator NAME keys rewrap"
// (Service.RewrapKeys: every subject's data key rewrapped by 2025-06), and
// once it reports the run complete, drop 2025-01. Images are never
// rewritten: rotation rewraps one 60-byte key per subject.
//
// # The wiring, step by step
//
// Step 1, the store. PostgreSQL (storage/postgres.Open with DATABASE_URL) when
// set, SQLite (storage/sqlite.Open, a file in -data) otherwise. Both apply
// their migrations on Open and are closed on shutdown. Either can share the
// host's own database: sqlite.Options.TablePrefix and postgres.Options.Schema
// keep the KYC tables apart.
//
// Step 2, the ladder. levels.Load reads ladder.json, embedded in the binary
// with go:embed (a copy of examples/server's ladder: the demo's levels). The
// compliance team owns this file; examples/rules shows how they unit-test it.
//
// Step 3, the service. verification.New(ladder, store, Options) with the
// store's own BlobStore (Blobs) for document uploads, sealed with
// documents.NewSealedStore and the store's DataKeys when master keys are
// configured: images live in the database, so every replica serves every
// image, and Erase deletes them in the same transaction as their records.
// HOSTAPP_IDENTIFIER_KEY (base64, the same on every replica) keys the
// digests that replace erased identifiers; -image-retention purges images
// after their review. A goroutine runs the maintenance runner
// (Service.Maintenance: application and upload expiry, retention, orphan
// and tombstone sweeps, idempotency and delivered-outbox pruning, each on
// its own interval); it stops with the cleanup.
//
// Step 4, the adapter. httpadapter.New with httpadapter.ContextAuthenticator:
// the adapter does no authentication of its own, it takes the Principal that
// the host's middleware stored with httpadapter.WithPrincipal. A documents
// Signer is configured so the identity verification routes (signed image URLs) exist.
//
// Step 5, the host's users and sessions. The host keeps its own user table
// (here an in-memory demo table: alice and bob are customers, admin is a
// compliance officer). POST /login checks the password and issues a session
// token: base64url("<userID>:<expiry unix>") "." base64url(HMAC-SHA256), which
// the middleware verifies with hmac.Equal (constant time) and an expiry check.
//
// Step 6, subjects. On a customer's first login the host creates its KYC
// subject (Service.CreateSubject) with an identifier derived from the host's
// user id ("hostappuser" + the id zero-padded to 32 digits: 43 letters and
// digits, as ER707 requires), tagged with the user's region so that
// tag-limited admins can be used. The identifier is deterministic, so after a
// restart Service.SubjectByIdentifier finds the same subject again; the
// host remembers user -> clientId in its user table (here a map).
//
// Step 7, the middleware. For every request with "Authorization: Bearer
// <session token>" it verifies the token and maps the host user to a
// Principal: a customer to {Kind: User, SubjectID: clientId, Scopes: the pending-request
// and identity-verification scopes}, the admin to {Kind: Admin, AdminID: user id}. It stores the
// principal with httpadapter.WithPrincipal. A bad or expired token is
// refused by the middleware: the host's own routes answer 401 themselves,
// and for /kyc/ routes the middleware stores the reason with
// httpadapter.WithAuthError (ErrCredentialsInvalid -> ER702,
// ErrCredentialsExpired -> ER701) so that the adapter answers in each route
// family's documented error shape. No token at all reaches the adapter as
// "no credentials": ER700 on the user routes.
//
// Step 8, mounting. adapter.Register(mux, "/kyc") adds the public routes to
// the host's mux next to /healthz, /login and /me. Admin routes: this
// example chooses to mount them under /kyc on the same mux too
// (adapter.RegisterAdmin(mux, "/kyc")), reachable only with the admin's
// session: the adapter refuses any principal that is not an Admin with
// ER713, so a customer's token cannot list verifications. That keeps the demo
// to one listener. A production deployment that wants the review routes off
// the internet calls RegisterAdmin on a second http.ServeMux served by an
// internal listener instead; the same middleware then wraps that mux.
//
// Step 9, shutdown. SIGINT or SIGTERM cancel the context; http.Server.Shutdown
// lets in-flight requests finish (5 s at most), then the cleanup stops the
// expiry sweep and closes the store.
//
// Step 10, the host's compliance routes. POST /admin/id-verifications
// records an identity provider's approved check ({"clientId", "provider",
// "frontFileId", "backFileId", "faceFileId"}: Service.RecordIDSession), so
// the identity verification API's route serves its images as signed URLs; POST /admin/erasures
// ({"clientId"}) erases a client (Service.Erase). Both take the admin's
// session only.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/openkyc/kyc/documents"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "hostapp:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:8090", "listen address")
	data := flag.String("data", "./hostapp-data", "data directory (SQLite database, document images)")
	logLevel := flag.String("log-level", "info", "log level: debug, info, warn, error")
	signingKeysFlag := flag.String("url-signing-keys", "", "URL signing keys, id:base64[:retired-at],... oldest first (prefer HOSTAPP_URL_SIGNING_KEYS: flags show in ps)")
	masterKeysFlag := flag.String("master-keys", "", "document master keys, id:base64,... oldest first, the last current (prefer HOSTAPP_MASTER_KEYS)")
	imageRetention := flag.Duration("image-retention", 0, "purge document images this long after their review (0 keeps them)")
	flag.Parse()

	lvl, err := zerolog.ParseLevel(*logLevel)
	if err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	log := zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: time.Kitchen}).Level(lvl).With().Timestamp().Logger()

	var secret []byte
	if s := os.Getenv("HOSTAPP_SESSION_SECRET"); s != "" {
		if len(s) < 32 {
			return errors.New("HOSTAPP_SESSION_SECRET: want at least 32 bytes")
		}
		secret = []byte(s)
	} else {
		log.Warn().Msg("HOSTAPP_SESSION_SECRET unset: using a random session key, sessions end at restart")
	}

	// Keys every replica shares: from the flag, else from the environment.
	var (
		signingKeys []documents.SigningKey
		masterKeys  []documents.MasterKey
	)
	if v := firstNonEmpty(*signingKeysFlag, os.Getenv("HOSTAPP_URL_SIGNING_KEYS")); v != "" {
		if signingKeys, err = parseSigningKeys(v); err != nil {
			return fmt.Errorf("URL signing keys: %w", err)
		}
	}
	if v := firstNonEmpty(*masterKeysFlag, os.Getenv("HOSTAPP_MASTER_KEYS")); v != "" {
		if masterKeys, err = documents.ParseMasterKeys(v); err != nil {
			return fmt.Errorf("master keys: %w", err)
		}
	}

	var identifierKey []byte
	if v := os.Getenv("HOSTAPP_IDENTIFIER_KEY"); v != "" {
		if identifierKey, err = documents.DecodeSecret(v); err != nil {
			return fmt.Errorf("HOSTAPP_IDENTIFIER_KEY: %w", err)
		}
	}

	// Step 9: a context cancelled by SIGINT / SIGTERM.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	cfg := config{
		DataDir:        *data,
		DatabaseURL:    os.Getenv("DATABASE_URL"),
		DatabaseSchema: os.Getenv("HOSTAPP_DATABASE_SCHEMA"),
		SessionSecret:  secret,
		SigningKeys:    signingKeys,
		MasterKeys:     masterKeys,
		IdentifierKey:  identifierKey,
		ImageRetention: *imageRetention,
		Logger:         &log,
	}
	handler, cleanup, err := newApp(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		if err := cleanup(); err != nil {
			log.Error().Err(err).Msg("cleanup")
		}
	}()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       time.Minute,
	}
	store := "sqlite"
	if cfg.DatabaseURL != "" {
		store = "postgres"
	}
	log.Info().Str("addr", ln.Addr().String()).Str("store", store).Msg("hostapp listening; demo users alice/alice-password, bob/bob-password, admin/admin-password")

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info().Msg("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info().Msg("stopped")
	return nil
}

// firstNonEmpty returns the first of vs that is not empty.
func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
