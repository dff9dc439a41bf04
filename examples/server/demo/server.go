// Package demo is the openkyc demo server that examples/server runs (its
// flags and walkthrough are documented there and in the README), made
// importable so that a command in another module can extend it: the
// OpenTelemetry build in contrib/otelkyc/examples/server adds -metrics
// through Options without the root module depending on OpenTelemetry.
//
// This is example code, not API: it may change in any release.
package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/openkyc/kyc/console"
	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/httpadapter"
	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/providers"
	"github.com/openkyc/kyc/providers/veriff"
	"github.com/openkyc/kyc/screening"
	"github.com/openkyc/kyc/screening/listscreen"
	"github.com/openkyc/kyc/storage/sqlite"
	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/webhooks"
)

//go:embed ladder.json
var defaultLadder []byte

// Main runs the demo server with args (os.Args[1:]) until SIGINT or
// SIGTERM and returns the process's exit code (see ExitCode).
func Main(args []string, opts Options) int {
	return ExitCode(Run(context.Background(), args, os.Stdout, os.Stderr, opts), os.Stderr)
}

// ExitCode reports err and returns the process's exit code: 0 for a clean
// stop and for -h (the usage was printed), 2 for bad flags, 1 otherwise.
func ExitCode(err error, stderr io.Writer) int {
	var fe *FlagError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	case errors.As(err, &fe):
		fmt.Fprintln(stderr, fe.Message)
		return 2
	}
	fmt.Fprintln(stderr, "openkyc:", err)
	return 1
}

// errUsage marks a flag error (already printed with the usage).
var errUsage = errors.New("usage")

type config struct {
	addr, data, ladder, baseURL, webhook, logLevel string
	veriffKey, veriffSecret, veriffBaseURL         string
	demo, demoSet, fresh                           bool
	imageRetention                                 time.Duration
	screeningList                                  string
	downgrade                                      bool
	exclusive                                      bool
}

// The demo Veriff integration's credentials (printed at start).
const (
	demoVeriffKey    = "demo-veriff-key"
	demoVeriffSecret = "demo-veriff-secret"
)

func parseFlags(args []string, stderr io.Writer, opts Options) (config, error) {
	var c config
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	if opts.Flags != nil {
		opts.Flags(fs)
	}
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "listen address")
	fs.StringVar(&c.data, "data", "./openkyc-data", "data directory (database, document images, keys)")
	fs.StringVar(&c.ladder, "ladder", "", "ladder JSON file (default: the built-in ladder)")
	fs.BoolVar(&c.demo, "demo", false, "seed the demo users unless they exist (default: when the data directory is new)")
	fs.StringVar(&c.baseURL, "base-url", "", "public URL for signed file URLs (default http://<addr>)")
	fs.StringVar(&c.webhook, "webhook", "", "deliver events to this URL as signed webhooks")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.DurationVar(&c.imageRetention, "image-retention", 0, "purge document images this long after their review (0 keeps them)")
	fs.StringVar(&c.screeningList, "screening-list", "", "sanctions/PEP list CSV for screening requirements (screening/listscreen format)")
	fs.BoolVar(&c.downgrade, "downgrade-on-expiry", false, "downgrade subjects when an approval expires or a re-screen finds a hit")
	fs.BoolVar(&c.exclusive, "sqlite-exclusive", false, "keep other processes out of the database while the server runs (sqlite.Options.Exclusive: cheaper reads; the openkyc command cannot open it meanwhile)")
	fs.BoolVar(&c.fresh, "fresh", false, "start from scratch: delete the database, document images and key in the data directory first")
	fs.StringVar(&c.veriffKey, "veriff-api-key", demoVeriffKey, "Veriff integration API key (X-AUTH-CLIENT)")
	fs.StringVar(&c.veriffSecret, "veriff-secret", demoVeriffSecret, "Veriff shared secret (webhook and API signatures)")
	fs.StringVar(&c.veriffBaseURL, "veriff-base-url", veriff.DefaultBaseURL, "Veriff API base URL (sessions and media)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected arguments: %q\n", fs.Args())
		fs.Usage()
		return c, fmt.Errorf("%w: unexpected arguments", errUsage)
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "demo" {
			c.demoSet = true
		}
	})
	return c, nil
}

// newLogger logs to w: readable lines on a terminal, JSON lines buffered
// by a logWriter otherwise; closeLog writes out what is buffered.
func newLogger(level string, w *os.File) (log zerolog.Logger, closeLog func() error, err error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		return zerolog.Logger{}, nil, fmt.Errorf("-log-level %q: want debug, info, warn or error", level)
	}
	if fi, err := w.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		out := zerolog.ConsoleWriter{Out: w, TimeFormat: time.Kitchen}
		return zerolog.New(out).Level(lvl).With().Timestamp().Logger(), func() error { return nil }, nil
	}
	lw := newLogWriter(w, flushEvery)
	return zerolog.New(lw).Level(lvl).With().Timestamp().Logger(), lw.Close, nil
}

// Run runs the demo server with args until ctx is done or SIGINT or
// SIGTERM arrives, printing the demo credentials to stdout and logging to
// stderr; opts extend it (nothing for the plain demo).
func Run(ctx context.Context, args []string, stdout io.Writer, stderr *os.File, opts Options) error {
	cfg, err := parseFlags(args, stderr, opts)
	if err != nil {
		return err
	}
	if opts.Check != nil {
		if err := opts.Check(); err != nil {
			return err
		}
	}
	log, closeLog, err := newLogger(cfg.logLevel, stderr)
	if err != nil {
		return err
	}
	defer func() { _ = closeLog() }()
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var obs Observers
	if opts.Observe != nil {
		if obs, err = opts.Observe(ctx); err != nil {
			return err
		}
	}

	ladder, err := loadLadder(cfg.ladder)
	if err != nil {
		return err
	}
	if cfg.fresh {
		if err := removeData(cfg.data); err != nil {
			return err
		}
	}
	fresh := false
	if _, err := os.Stat(filepath.Join(cfg.data, "openkyc.db")); errors.Is(err, os.ErrNotExist) {
		fresh = true
	}
	if !cfg.demoSet {
		cfg.demo = fresh
	}
	if !fresh {
		fmt.Fprintf(stdout, "reusing data in %s (demo users and their progress are kept; start fresh with -fresh)\n", cfg.data)
	}
	if err := os.MkdirAll(filepath.Join(cfg.data, "documents"), 0o700); err != nil {
		return err
	}
	store, err := sqlite.Open(ctx, filepath.Join(cfg.data, "openkyc.db"), sqlite.Options{Exclusive: cfg.exclusive})
	if err != nil {
		return err
	}
	defer func() {
		if err := store.Close(); err != nil {
			log.Error().Err(err).Msg("closing the database")
		}
	}()
	blobs, err := documents.NewFileStore(filepath.Join(cfg.data, "documents"))
	if err != nil {
		return err
	}
	secret, err := persistentSecret(filepath.Join(cfg.data, "url-signing.key"))
	if err != nil {
		return err
	}
	signer, err := documents.NewSigner([]documents.SigningKey{{ID: "k1", Secret: secret}}, documents.SignerOptions{})
	if err != nil {
		return err
	}

	// The key of the digests that replace erased identifiers: stable, so
	// erased subjects stay linkable to their audit facts.
	identifierKey, err := persistentSecret(filepath.Join(cfg.data, "identifier.key"))
	if err != nil {
		return err
	}

	veriffP, err := veriff.New(veriff.Config{APIKey: cfg.veriffKey, SharedSecret: cfg.veriffSecret, BaseURL: cfg.veriffBaseURL})
	if err != nil {
		return err
	}
	veriffConf := verification.ProviderConfig{Provider: veriffP}
	if r, ok := ladder.Requirement("idDocument"); ok && r.Type == levels.Document {
		veriffConf.Requirements = []string{"idDocument"}
	}
	screener, err := loadScreener(cfg.screeningList)
	if err != nil {
		return err
	}

	var dispatcher *verification.Dispatcher
	svc, err := verification.New(ladder, store, verification.Options{
		Logger:            &log,
		Blobs:             blobs,
		OnEventsFunc:      func() { dispatcher.Notify() },
		Providers:         []verification.ProviderConfig{veriffConf},
		MediaBackoff:      5 * time.Second,
		ImageRetention:    cfg.imageRetention,
		IdentifierKey:     identifierKey,
		Screener:          screener,
		DowngradeOnExpiry: cfg.downgrade,
		Observer:          obs.Service,
	})
	if err != nil {
		return err
	}
	sinks := []verification.Sink{verification.SubscriberFunc("log", func(_ context.Context, e verification.Event) error {
		log.Debug().Str("event", string(e.Type)).Int64("clientId", e.SubjectID).Msg("event")
		return nil
	})}
	if cfg.webhook != "" {
		whSecret := webhooks.NewSecret()
		wh, err := webhooks.New("webhook", cfg.webhook, webhooks.Options{Secrets: []string{whSecret}})
		if err != nil {
			return err
		}
		sinks = append(sinks, wh)
		fmt.Fprintf(stdout, "webhook secret (verify with webhooks.Verify or any Standard Webhooks library): %s\n", whSecret)
	}
	dispatcher, err = verification.NewDispatcher(store, verification.DispatcherOptions{Sinks: sinks, Logger: &log, Observer: obs.Service})
	if err != nil {
		return err
	}
	if err := dispatcher.Register(ctx); err != nil {
		return err
	}

	if cfg.demo {
		if err := seedOnce(ctx, svc, cfg.data, stdout); err != nil {
			return err
		}
	}
	if err := checkLadder(cfg.data, ladder, stdout); err != nil {
		return err
	}
	auth, users, err := demoAuthenticator(ctx, svc)
	if err != nil {
		return err
	}

	if obs.Started != nil {
		stopObserving, err := obs.Started(ctx, svc, stdout)
		if err != nil {
			return err
		}
		defer stopObserving()
	}

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	base := cfg.baseURL
	if base == "" {
		base = "http://" + addr
	}
	adapter, err := httpadapter.New(svc, httpadapter.Options{Authenticator: auth, Logger: &log, Signer: signer, BaseURL: base, ServeOpenAPI: true,
		Providers: []providers.Provider{veriffP}, Observer: obs.HTTP})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	adapter.Register(mux, "")
	adapter.RegisterAdmin(mux, "")
	adapter.RegisterProviderWebhooks(mux, "")
	sessionKey := make([]byte, 32)
	if _, err := rand.Read(sessionKey); err != nil {
		return err
	}
	consoleSessions := &sessions{key: sessionKey, tokens: auth, now: svc.Now, secure: strings.HasPrefix(base, "https://")}
	reviewConsole, err := console.New(svc, console.Options{Authenticator: consoleSessions, LoginURL: consolePrefix + "/login", LogoutURL: consolePrefix + "/logout", Logger: &log})
	if err != nil {
		return err
	}
	mountConsole(mux, reviewConsole, consoleSessions)
	srv := &http.Server{Handler: adapter.Guard("", mux), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 2 * time.Minute, WriteTimeout: 2 * time.Minute, IdleTimeout: time.Minute}

	var wg sync.WaitGroup
	bg, stopBG := context.WithCancel(context.Background())
	defer stopBG()
	wg.Add(3)
	go func() {
		defer wg.Done()
		if err := dispatcher.Run(bg); err != nil {
			log.Error().Err(err).Msg("event dispatcher stopped")
		}
	}()
	runner, err := svc.Maintenance(verification.MaintenanceOptions{})
	if err != nil {
		return err
	}
	go func() {
		// Provider images are fetched here, never on the webhook's request.
		defer wg.Done()
		_ = svc.RunProviderMedia(bg, 10*time.Second)
	}()
	go func() {
		defer wg.Done()
		_ = runner.Run(bg) // each job logs its failures and what it did
	}()

	printDemo(stdout, base, users)
	shown := "set with -veriff-secret"
	if cfg.veriffSecret == demoVeriffSecret {
		shown = demoVeriffSecret // only the demo default is ever printed
	}
	fmt.Fprintf(stdout, "Veriff decisions: POST %s/webhooks/providers/veriff with X-AUTH-CLIENT: %s and X-HMAC-SIGNATURE: hex HMAC-SHA256 of the body under the shared secret (%s)\n",
		base, cfg.veriffKey, shown)
	log.Info().Str("addr", addr).Str("data", cfg.data).Msg("openkyc demo server listening")
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		stopBG()
		wg.Wait()
		return err
	case <-ctx.Done():
	}
	log.Info().Msg("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	stopBG()
	wg.Wait()
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info().Msg("stopped")
	return nil
}

// loadScreener loads the -screening-list file; nil without one (a ladder
// with a screening requirement then fails verification.New, naming the
// missing Screener).
func loadScreener(path string) (screening.Screener, error) {
	if path == "" {
		return nil, nil
	}
	list, err := listscreen.LoadFile(path, listscreen.Options{Name: strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))})
	if err != nil {
		return nil, fmt.Errorf("-screening-list: %w", err)
	}
	return list, nil
}

func loadLadder(path string) (*levels.Ladder, error) {
	if path == "" {
		return levels.Load(bytes.NewReader(defaultLadder))
	}
	return levels.LoadFile(path)
}

// persistentSecret reads the URL-signing secret, creating it (32 random
// bytes, hex, mode 0600) on first start so signed URLs survive restarts.
func persistentSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return hex.DecodeString(strings.TrimSpace(string(b)))
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(hex.EncodeToString(secret)), 0o600); err != nil {
		return nil, err
	}
	return secret, nil
}
