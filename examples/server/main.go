// Command server is the openkyc demo server: every verification route
// (status, history, wizard, pending request, identity verification, admin
// history and review) on an embedded SQLite database, with demo users and
// tokens, ready for curl. Run it with
//
//	go run ./examples/server
//
// Flags:
//
//	-addr       listen address (default 127.0.0.1:8080)
//	-data       directory for the database, document images and keys (default ./openkyc-data)
//	-ladder     a ladder JSON file (default: the built-in ladder, examples/server/demo/ladder.json)
//	-demo       seed the demo users unless they exist (default: when -data is new); they fit any ladder
//	-fresh      delete the database, document images and key in -data first (start the walkthrough again)
//	-base-url   public URL prefixed to signed file URLs (default http://<addr>)
//	-webhook    POST every event to this URL, signed as Standard Webhooks (secret printed at start)
//	-log-level  debug, info, warn or error (default info); pretty on a terminal, JSON otherwise
//	-image-retention  purge document images this long after their review (e.g. 2160h); default 0 keeps them
//	-screening-list   a sanctions/PEP list CSV (screening/listscreen format) for the ladder's screening requirements
//	-downgrade-on-expiry  move subjects down a level when an approval expires or a re-screen finds a hit
//
// The maintenance runner (verification.Service.Maintenance) runs in the
// background: it expires applications and unsubmitted uploads, applies the
// image retention (with -image-retention), sweeps orphaned and half-deleted
// bytes, and prunes expired idempotency keys and delivered outbox rows, each
// job on its own interval; its reports are logged. With a ladder whose
// requirements expire it also runs the expiry sweep, and with
// -screening-list the sanctions screening. Try both with the ladder and the
// made-up list shipped for it:
//
//	go run ./examples/server -ladder examples/server/diligence.json \
//	    -screening-list screening/listscreen/testdata/fictitious.csv
//	-veriff-api-key   Veriff integration API key, X-AUTH-CLIENT (default demo-veriff-key)
//	-veriff-secret    Veriff shared secret, the webhooks' HMAC key (default demo-veriff-secret)
//	-veriff-base-url  Veriff's API, for sessions and media (default https://stationapi.veriff.com)
//
// Veriff decisions are accepted on POST /webhooks/providers/veriff (the
// demo credentials are printed at start); vendorData names the subject's
// external identifier. An approval reviews the ladder's idDocument
// requirement, and its images (front, back, face) are fetched from the
// media API in the background, then served as signed URLs by the
// identity-verification route.
//
// The review console is at <base>/console/ (sign in with an admin token).
//
// Metrics: -metrics is not in this build, which keeps the root module free
// of OpenTelemetry; the OpenTelemetry build of the same server has it:
//
//	cd contrib/otelkyc && go run ./examples/server -metrics 127.0.0.1:9464
//
// Every start prints the demo credentials, and says so when it reuses an
// existing data directory. -h prints the flags and exits 0. SIGINT or
// SIGTERM shut it down cleanly: in-flight requests finish, the background
// jobs stop and the database closes. The server itself is package
// examples/server/demo.
package main

import (
	"flag"
	"os"

	"github.com/openkyc/kyc/examples/server/demo"
)

// metricsCommand is the command that serves -metrics.
const metricsCommand = "cd contrib/otelkyc && go run ./examples/server -metrics 127.0.0.1:9464"

func main() {
	os.Exit(demo.Main(os.Args[1:], options()))
}

// options are this build's extensions of the demo: a -metrics flag that
// only says which command has it.
func options() demo.Options {
	metrics := false
	return demo.Options{
		Flags: func(fs *flag.FlagSet) {
			fs.Func("metrics", "not in this build: "+metricsCommand, func(string) error {
				metrics = true
				return nil
			})
		},
		Check: func() error {
			if metrics {
				return &demo.FlagError{Message: "server: -metrics is in the OpenTelemetry build of this server: " + metricsCommand}
			}
			return nil
		},
	}
}
