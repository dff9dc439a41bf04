// Command openkyc is the operator command of an openkyc deployment: it
// opens the deployment's store (SQLite or PostgreSQL, chosen by --dsn) and
// runs the operator tasks that otherwise need Go code: migrations, ladder
// checks, subjects' tags, legal holds and erasure, dead-lettered webhook
// deliveries, the maintenance jobs, the audit trail and new keys.
//
//	openkyc --dsn sqlite:kyc.db migrate
//	openkyc --dsn postgres://kyc@db/kyc --operator alice subjects hold 42
//	openkyc --dsn "$OPENKYC_DSN" --ladder ladder.json maintenance run --dry-run
//
// Output is JSON (one object, or one object per line for lists) unless
// -o table is given. Every change needs --operator NAME: the Service
// records it in the audit trail with actor kind host and that name. Errors
// are one line on stderr and a non-zero exit status; they never carry a
// driver's error, a secret or personal data. See the README section
// "Operating openkyc: the openkyc command".
package main

import (
	"context"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
