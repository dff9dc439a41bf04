package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/screening"
	"github.com/openkyc/kyc/storage/postgres"
	"github.com/openkyc/kyc/storage/sqlite"
	"github.com/openkyc/kyc/verification"
)

// store is an opened store with its own blob store.
type store struct {
	verification.Store
	// kind is "sqlite" or "postgres".
	kind  string
	blobs documents.BlobStore
	// dataKeys holds the sealed documents' wrapped data keys.
	dataKeys documents.KeyStore
	close    func() error
}

// openStore opens the store --dsn names. Without migrate the schema must
// be current (Options.SkipMigrate): only the migrate command changes it.
func (e *env) openStore(migrate bool) (*store, error) {
	dsn := e.cli.DSN
	switch {
	case dsn == "":
		return nil, usageErr("no store: give --dsn sqlite:PATH or --dsn postgres://... (or set OPENKYC_DSN)")
	case strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(dsn, "sqlite:")
		if path == "" {
			return nil, usageErr("--dsn sqlite:PATH needs a file path")
		}
		if !migrate {
			if _, err := os.Stat(path); err != nil {
				return nil, usageErr("no SQLite database at %s (create it with openkyc migrate)", path)
			}
		}
		s, err := sqlite.Open(e.ctx, path, sqlite.Options{TablePrefix: e.cli.TablePrefix, SkipMigrate: !migrate})
		if err != nil {
			if errors.Is(err, sqlite.ErrLocked) {
				return nil, usageErr("the SQLite database at %s is locked by another process (a host whose store is sqlite.Options.Exclusive keeps every other process out while it runs: stop it or run the task in the host; otherwise a long transaction held it: try again)", path)
			}
			if errors.Is(storeErr(err), errCannotOpen) {
				return nil, usageErr("cannot open the SQLite database at %s (check the path, its directory and permissions)", path)
			}
			return nil, storeErr(err)
		}
		return &store{Store: s, kind: "sqlite", blobs: s.Blobs(), dataKeys: s.DataKeys(), close: s.Close}, nil
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"), strings.HasPrefix(dsn, "postgres:"):
		if rest, ok := strings.CutPrefix(dsn, "postgres:"); ok && !strings.HasPrefix(rest, "//") {
			dsn = rest // postgres:host=... dbname=...: a key=value DSN
		}
		s, err := postgres.Open(e.ctx, dsn, postgres.Options{Schema: e.cli.Schema, SkipMigrate: !migrate})
		if err != nil {
			return nil, storeErr(err)
		}
		return &store{Store: s, kind: "postgres", blobs: s.Blobs(), dataKeys: s.DataKeys(), close: s.Close}, nil
	}
	return nil, usageErr("--dsn must start with sqlite: or postgres://")
}

// storeErr turns a failure to open a store into a message without the
// driver's error (which may quote a DSN, a password or a host's internals).
func storeErr(err error) error {
	switch {
	case errors.Is(err, sqlite.ErrSchemaOutdated), errors.Is(err, postgres.ErrSchemaOutdated):
		return usageErr("the store's schema is older than this openkyc: run openkyc migrate first")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, verification.ErrInvalid):
		return usageErr("the store refused its options (check --schema and --table-prefix)")
	}
	return errCannotOpen
}

// errCannotOpen is storeErr's answer when nothing more can be said safely.
var errCannotOpen = usageErr("cannot open the store (check --dsn, that the database is reachable and the credentials)")

// service opens the store and returns a Service over it; what names the
// command in messages. The caller closes the store.
func (e *env) service(what string, needLadder bool, opts verification.Options) (*verification.Service, *store, error) {
	ladder, err := e.ladder(needLadder, what)
	if err != nil {
		return nil, nil, err
	}
	ring, err := masterKeys()
	if err != nil {
		return nil, nil, err
	}
	st, err := e.openStore(false)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case ring != nil:
		// Sealed documents, as the host has them: an erasure also destroys
		// the data key. With --blobs external only the keys are used (the
		// commands that delete bytes refuse to run).
		if opts.Blobs, err = documents.NewSealedStore(st.blobs, ring, st.dataKeys); err != nil {
			_ = st.close()
			return nil, nil, err
		}
	case e.cli.Blobs == "store":
		opts.Blobs = st.blobs
	}
	for _, r := range ladder.Requirements() {
		if r.Type == levels.Screening {
			// The Service calls its Screener only from RunScreening, which
			// this command never runs (maintenance disables the job): the
			// host's screener, with its credentials, stays in the host.
			opts.Screener = noScreener
		}
	}
	svc, err := verification.New(ladder, st, opts)
	if err != nil {
		_ = st.close()
		return nil, nil, err
	}
	return svc, st, nil
}

// noScreener is the Screener of a ladder with a screening requirement: it
// refuses every query (screening runs in the host).
var noScreener = screening.ScreenerFunc(func(context.Context, screening.Query) (screening.Result, error) {
	return screening.Result{}, fmt.Errorf("openkyc: screening runs in the host: %w", screening.ErrUnavailable)
})

// ownBlobs refuses a command that deletes document bytes when they live in
// a blob store this command cannot reach.
func (e *env) ownBlobs(what string) error {
	if e.cli.Blobs != "store" {
		return usageErr("%s deletes document bytes, which live outside the store (--blobs external): run it in the host, which has the blob store", what)
	}
	return nil
}

// masterKeysEnv holds the deployment's master keys, in the form
// examples/hostapp reads from HOSTAPP_MASTER_KEYS.
const masterKeysEnv = "OPENKYC_MASTER_KEYS"

// masterKeys returns the Keyring of OPENKYC_MASTER_KEYS, or nil when it is
// not set (the documents are not sealed).
func masterKeys() (*documents.Keyring, error) {
	v := os.Getenv(masterKeysEnv)
	if v == "" {
		return nil, nil
	}
	keys, err := documents.ParseMasterKeys(v)
	if err != nil {
		return nil, usageErr("%s: %s", masterKeysEnv, oneLine(strings.TrimPrefix(err.Error(), "documents: ")))
	}
	ring, err := documents.KeyringOf(keys)
	if err != nil {
		return nil, usageErr("%s: %s", masterKeysEnv, oneLine(strings.TrimPrefix(err.Error(), "documents: ")))
	}
	return ring, nil
}
