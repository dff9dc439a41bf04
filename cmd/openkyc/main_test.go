package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rogpeppe/go-internal/testscript"
	_ "modernc.org/sqlite" // the raw connection of tamper-audit

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// The scripts under testdata/script run the command in-process, as the
// script command "openkyc" (cmdOpenkyc: run in this test binary, with no
// process started per step), against a temporary SQLite file and, with
// OPENKYC_TEST_POSTGRES_DSN set, against a fresh PostgreSQL schema per
// script. Besides the commands of testscript they have:
//
//	openkyc ARGS...      runs the command (! openkyc: it must fail)
//	seed                 creates subjects, an expired application and a
//	                     dead-lettered delivery through the Service; sets
//	                     $SUBJECT, $OTHER and $EVENT; with
//	                     $OPENKYC_MASTER_KEYS set, also uploads a document
//	                     per subject, sealed under those keys
//	dbsnap FILE          writes a digest of the whole database to FILE
//	tamper-audit SEQ     edits audit entry SEQ past the append-only triggers
func TestMain(m *testing.M) {
	// The scripts change the working directory (see cmdOpenkyc): resolve
	// the test data's paths first.
	var err error
	if scriptDir, err = filepath.Abs(filepath.Join("testdata", "script")); err == nil {
		ladderFile, err = filepath.Abs(filepath.Join("testdata", "ladder.json"))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// scriptDir and ladderFile are the scripts' directory and the ladder they
// get, as absolute paths.
var scriptDir, ladderFile string

// inProcess serialises the in-process runs: the command reads its
// environment variables (kong's env tags, the keys) and resolves relative
// paths from the process's environment and working directory, which
// cmdOpenkyc sets from the script's for the length of one run.
var inProcess sync.Mutex

// commandEnv lists the environment variables the command reads: those of
// the cli struct's env tags and the keys'.
func commandEnv() []string {
	names := []string{identifierKeyEnv, masterKeysEnv}
	t := reflect.TypeFor[cli]()
	for i := range t.NumField() {
		if env := t.Field(i).Tag.Get("env"); env != "" {
			names = append(names, strings.Split(env, ",")...)
		}
	}
	return names
}

// cmdOpenkyc runs the command in-process with the script's arguments,
// environment and working directory, its output as the step's stdout and
// stderr. It fails the script unless the exit status is 0 (with ! : not
// 0).
func cmdOpenkyc(ts *testscript.TestScript, neg bool, args []string) {
	inProcess.Lock()
	defer inProcess.Unlock()
	wd, err := os.Getwd()
	ts.Check(err)
	ts.Check(os.Chdir(ts.MkAbs(".")))
	defer func() { ts.Check(os.Chdir(wd)) }()
	for _, name := range commandEnv() {
		old, had := os.LookupEnv(name)
		if v := ts.Getenv(name); v != "" {
			ts.Check(os.Setenv(name, v))
		} else {
			ts.Check(os.Unsetenv(name))
		}
		defer func() {
			if had {
				_ = os.Setenv(name, old)
			} else {
				_ = os.Unsetenv(name)
			}
		}()
	}
	code := run(context.Background(), args, ts.Stdout(), ts.Stderr())
	switch {
	case neg && code == 0:
		ts.Fatalf("openkyc: unexpected success")
	case !neg && code != 0:
		ts.Fatalf("openkyc: exit status %d", code)
	}
}

const postgresEnv = "OPENKYC_TEST_POSTGRES_DSN"

// testIdentifierKey is the scripts' OPENKYC_IDENTIFIER_KEY.
var testIdentifierKey = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))

func TestScriptsSQLite(t *testing.T) {
	t.Parallel()
	testscript.Run(t, params(t, func(env *testscript.Env) error {
		env.Setenv("OPENKYC_DSN", "sqlite:"+filepath.Join(env.WorkDir, "kyc.db"))
		return nil
	}))
}

func TestScriptsPostgres(t *testing.T) {
	t.Parallel()
	dsn := os.Getenv(postgresEnv)
	if dsn == "" {
		t.Skipf("the PostgreSQL run of the scripts needs a server: set %s='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' (each script works in its own schema and drops it)", postgresEnv)
	}
	testscript.Run(t, params(t, func(env *testscript.Env) error {
		schema := "openkyc_cli_" + rand.Text()[:12]
		schema = strings.ToLower(schema)
		env.Setenv("OPENKYC_DSN", dsn)
		env.Setenv("OPENKYC_SCHEMA", schema)
		env.Defer(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			conn, err := pgx.Connect(ctx, dsn)
			if err != nil {
				t.Errorf("dropping schema %s: %v", schema, err)
				return
			}
			defer conn.Close(ctx)
			if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
				t.Errorf("dropping schema %s: %v", schema, err)
			}
		})
		return nil
	}))
}

// params are the scripts' parameters; store sets the store's variables.
func params(t *testing.T, store func(*testscript.Env) error) testscript.Params {
	ladder, err := os.ReadFile(ladderFile)
	if err != nil {
		t.Fatal(err)
	}
	return testscript.Params{
		Dir: scriptDir,
		Setup: func(env *testscript.Env) error {
			path := filepath.Join(env.WorkDir, "ladder.json")
			if err := os.WriteFile(path, ladder, 0o600); err != nil {
				return err
			}
			env.Setenv("OPENKYC_LADDER", path)
			env.Setenv("OPENKYC_IDENTIFIER_KEY", testIdentifierKey)
			return store(env)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"openkyc":      cmdOpenkyc,
			"seed":         cmdSeed,
			"dbsnap":       cmdDBSnap,
			"tamper-audit": cmdTamperAudit,
		},
	}
}

// scriptEnv is an env reading the script's store variables, for the
// custom commands (they open the store as the command does).
func scriptEnv(ts *testscript.TestScript) *env {
	return &env{ctx: context.Background(), cli: &cli{
		DSN: ts.Getenv("OPENKYC_DSN"), Schema: cmp.Or(ts.Getenv("OPENKYC_SCHEMA"), "openkyc"), LadderFile: ts.Getenv("OPENKYC_LADDER"), Blobs: "store",
	}}
}

// downSink is a webhook receiver that is always down.
type downSink struct{}

func (downSink) Name() string { return "crm" }

func (downSink) Deliver(context.Context, verification.Event) error { return errors.New("crm is down") }

// cmdSeed migrates the store and seeds it through the Service, on a clock
// two days back: two subjects (the first with an open application, now
// past its TTL), every event dead-lettered for the sink "crm".
func cmdSeed(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: seed")
	}
	e := scriptEnv(ts)
	ctx := e.ctx
	st, err := e.openStore(true)
	ts.Check(err)
	defer st.close()
	ladder, err := levels.LoadFile(e.cli.LadderFile)
	ts.Check(err)
	past := func() time.Time { return time.Now().Add(-48 * time.Hour) }
	var blobs documents.BlobStore = st.blobs
	sealed := ts.Getenv(masterKeysEnv) != ""
	if sealed {
		keys, err := documents.ParseMasterKeys(ts.Getenv(masterKeysEnv))
		ts.Check(err)
		ring, err := documents.KeyringOf(keys)
		ts.Check(err)
		blobs, err = documents.NewSealedStore(st.blobs, ring, st.dataKeys)
		ts.Check(err)
	}
	svc, err := verification.New(ladder, st, verification.Options{NowFunc: past, Blobs: blobs})
	ts.Check(err)
	d, err := verification.NewDispatcher(st, verification.DispatcherOptions{Sinks: []verification.Sink{downSink{}}, MaxAttempts: 1, NowFunc: past})
	ts.Check(err)
	ts.Check(d.Register(ctx))
	var ids []int64
	for i := range 2 {
		sub, err := svc.CreateSubject(ctx, verification.CreateSubjectParams{Identifier: fmt.Sprintf("clitestuser%032d", i+1), Tags: []string{"eu"}})
		ts.Check(err)
		ids = append(ids, sub.ID)
		if sealed {
			_, err := svc.Upload(ctx, verification.UploadParams{SubjectID: sub.ID, DocumentType: "passport", Side: "front", Body: bytes.NewReader(verificationtest.JPEG(1024))})
			ts.Check(err)
		}
	}
	_, err = svc.InitWizard(ctx, ids[0])
	ts.Check(err)
	_, err = svc.SetTags(ctx, verification.Actor{Kind: verification.ActorHost, ID: "seed"}, ids[1], []string{"eu", "vip"})
	ts.Check(err)
	_, err = d.DispatchOnce(ctx)
	ts.Check(err)
	dead, err := d.DeadLetters(ctx, "crm", 1, 0)
	ts.Check(err)
	if len(dead.Items) == 0 {
		ts.Fatalf("seed: no dead letter")
	}
	ts.Setenv("SUBJECT", strconv.FormatInt(ids[0], 10))
	ts.Setenv("OTHER", strconv.FormatInt(ids[1], 10))
	ts.Setenv("EVENT", dead.Items[0].Event.ID)
}

// cmdDBSnap writes a digest of the database to a file: of the SQLite
// file's bytes, or of every row of every table of the PostgreSQL schema.
func cmdDBSnap(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: dbsnap FILE")
	}
	e := scriptEnv(ts)
	var out strings.Builder
	if path, ok := strings.CutPrefix(e.cli.DSN, "sqlite:"); ok {
		for _, p := range []string{path, path + "-wal"} {
			b, err := os.ReadFile(p)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			ts.Check(err)
			fmt.Fprintf(&out, "%s %x\n", filepath.Base(p), sha256.Sum256(b))
		}
	} else {
		conn, err := pgx.Connect(e.ctx, e.cli.DSN)
		ts.Check(err)
		defer conn.Close(e.ctx)
		rows, err := conn.Query(e.ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`, e.cli.Schema)
		ts.Check(err)
		tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
		ts.Check(err)
		for _, table := range tables {
			var digest string
			q := fmt.Sprintf(`SELECT coalesce(md5(string_agg(t::text, E'\n' ORDER BY t::text)), '') FROM %s AS t`, pgx.Identifier{e.cli.Schema, table}.Sanitize())
			ts.Check(conn.QueryRow(e.ctx, q).Scan(&digest))
			fmt.Fprintf(&out, "%s %s\n", table, digest)
		}
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(out.String()), 0o600))
}

// cmdTamperAudit changes the summary of audit entry SEQ, past the
// triggers that keep the trail append-only.
func cmdTamperAudit(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: tamper-audit SEQ")
	}
	seq, err := strconv.ParseInt(args[0], 10, 64)
	ts.Check(err)
	e := scriptEnv(ts)
	if path, ok := strings.CutPrefix(e.cli.DSN, "sqlite:"); ok {
		db, err := sql.Open("sqlite", path)
		ts.Check(err)
		defer db.Close()
		_, err = db.Exec(`DROP TRIGGER audit_no_update`)
		ts.Check(err)
		_, err = db.Exec(`UPDATE audit SET summary = '{"tampered":"yes"}' WHERE seq = ?`, seq)
		ts.Check(err)
		return
	}
	conn, err := pgx.Connect(e.ctx, e.cli.DSN)
	ts.Check(err)
	defer conn.Close(e.ctx)
	table := pgx.Identifier{e.cli.Schema, "audit"}.Sanitize()
	_, err = conn.Exec(e.ctx, `ALTER TABLE `+table+` DISABLE TRIGGER audit_no_change`)
	ts.Check(err)
	_, err = conn.Exec(e.ctx, `UPDATE `+table+` SET summary = '{"tampered":"yes"}' WHERE seq = $1`, seq)
	ts.Check(err)
}
