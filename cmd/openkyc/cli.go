package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/alecthomas/kong"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/verification"
)

// cli is the command line: global flags, then one command.
type cli struct {
	DSN         string `help:"The store: sqlite:PATH or postgres://user@host/db?... (or a key=value PostgreSQL DSN after postgres:)." env:"OPENKYC_DSN" placeholder:"DSN"`
	Schema      string `help:"PostgreSQL schema of the store (postgres.Options.Schema)." env:"OPENKYC_SCHEMA" default:"openkyc"`
	TablePrefix string `help:"SQLite table prefix (sqlite.Options.TablePrefix)." env:"OPENKYC_TABLE_PREFIX"`
	LadderFile  string `name:"ladder" help:"The deployment's ladder (levels JSON), for the commands that apply it." env:"OPENKYC_LADDER" placeholder:"FILE"`
	Blobs       string `help:"Where document bytes live: 'store' (the store's own blob tables) or 'external' (another BlobStore, e.g. S3: erase and maintenance then run in the host)." enum:"store,external" default:"store" env:"OPENKYC_BLOBS"`
	Operator    string `help:"Your name, recorded in the audit trail (actor kind host); required for every change." placeholder:"NAME"`
	Output      string `short:"o" help:"Output format: json (one object, or one per line for lists) or table." enum:"json,table" default:"json"`

	Migrate      migrateCmd      `cmd:"" help:"Apply the store's migrations."`
	Ladder       ladderCmd       `cmd:"" help:"Check ladder files."`
	Subjects     subjectsCmd     `cmd:"" help:"Read and manage subjects."`
	Grants       grantsCmd       `cmd:"" help:"List level grants."`
	Applications applicationsCmd `cmd:"" help:"List and expire applications."`
	Deliveries   deliveriesCmd   `cmd:"" help:"Dead-lettered webhook deliveries."`
	Maintenance  maintenanceCmd  `cmd:"" help:"The maintenance jobs (expiry, retention, sweeps, pruning)."`
	Audit        auditCmd        `cmd:"" help:"Export and verify the audit trail."`
	Keys         keysCmd         `cmd:"" help:"Generate key configuration (printed, never stored)."`
}

// env is what a command runs with: the parsed flags, the context and the
// output.
type env struct {
	ctx context.Context
	cli *cli
	out *printer
	cmd string
}

// command names the command being run, e.g. "keys new-master".
func (e *env) command() string { return e.cmd }

// exit is the panic value kong's Exit option raises (after --help), so
// that run returns instead of exiting the process.
type exit int

// run parses args, runs the command and returns the exit status: 0 on
// success, 1 when the command failed, 2 for a usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (code int) {
	var c cli
	parser, err := kong.New(&c,
		kong.Name("openkyc"),
		kong.Description("Operate an openkyc deployment: migrations, subjects, deliveries, maintenance, audit trail, keys."),
		kong.Writers(stdout, stderr),
		kong.Exit(func(n int) { panic(exit(n)) }),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
	)
	if err != nil {
		fmt.Fprintf(stderr, "openkyc: %v\n", err)
		return 2
	}
	defer func() {
		switch p := recover().(type) {
		case nil:
		case exit:
			code = int(p)
		default:
			// A bug: one line, as for every error (a stack trace could
			// quote the values in flight).
			fmt.Fprintln(stderr, "openkyc: internal error (a bug: please report the command you ran)")
			code = 1
		}
	}()
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "openkyc: %s\n", oneLine(err.Error()))
		return 2
	}
	e := &env{ctx: ctx, cli: &c, out: &printer{w: stdout, table: c.Output == "table"}, cmd: kctx.Command()}
	if err := kctx.Run(e); err != nil {
		fmt.Fprintf(stderr, "openkyc: %s\n", message(err))
		return 1
	}
	if err := e.out.flush(); err != nil {
		fmt.Fprintf(stderr, "openkyc: writing the output: %s\n", message(err))
		return 1
	}
	return 0
}

// actor is the operator acting through this command: the host's own
// tooling, named by --operator.
func (e *env) actor() verification.Actor {
	return verification.Actor{Kind: verification.ActorHost, ID: e.cli.Operator}
}

// mutating checks that a change can be attributed: --operator is required.
func (e *env) mutating(what string) error {
	name := e.cli.Operator
	switch {
	case strings.TrimSpace(name) == "":
		return usageErr("%s changes the store: give your name with --operator NAME (it is recorded in the audit trail)", what)
	case utf8.RuneCountInString(name) > maxOperator || !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl) || strings.TrimSpace(name) != name:
		return usageErr("--operator must be 1 to %d printable characters without surrounding spaces", maxOperator)
	}
	return nil
}

// maxOperator bounds an operator's name in the audit trail.
const maxOperator = 64

// ladder loads --ladder, or returns a one-level ladder when the command
// does not apply the ladder's rules and none was given.
func (e *env) ladder(required bool, what string) (*levels.Ladder, error) {
	if e.cli.LadderFile == "" {
		if required {
			return nil, usageErr("%s applies the deployment's ladder: give it with --ladder FILE (or OPENKYC_LADDER)", what)
		}
		return levels.New([]levels.Level{{ID: 1, Name: "Level 0"}})
	}
	l, err := levels.LoadFile(e.cli.LadderFile)
	if err != nil {
		return nil, usageErr("ladder %s: %s", e.cli.LadderFile, oneLine(err.Error()))
	}
	return l, nil
}

// identifierKeyEnv holds the deployment's Options.IdentifierKey.
const identifierKeyEnv = "OPENKYC_IDENTIFIER_KEY"

// identifierKey reads OPENKYC_IDENTIFIER_KEY, the deployment's
// Options.IdentifierKey, decoded as examples/hostapp decodes its
// HOSTAPP_IDENTIFIER_KEY (documents.DecodeSecret), so one configured value
// serves both.
func identifierKey() ([]byte, error) {
	v := os.Getenv(identifierKeyEnv)
	if v == "" {
		return nil, usageErr("erasure replaces identifiers with digests keyed by the deployment's identifier key: set OPENKYC_IDENTIFIER_KEY (base64, the host's Options.IdentifierKey)")
	}
	k, err := documents.DecodeSecret(v)
	if err != nil || len(k) < 32 {
		return nil, usageErr("OPENKYC_IDENTIFIER_KEY must be base64 of at least 32 bytes")
	}
	return k, nil
}
