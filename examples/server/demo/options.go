package demo

import (
	"context"
	"flag"
	"io"

	"github.com/openkyc/kyc/httpadapter"
	"github.com/openkyc/kyc/verification"
)

// Options extend the demo server; the zero value runs the plain demo.
type Options struct {
	// Flags adds the extending command's flags to the demo's flag set
	// before it is parsed (they are listed by -h).
	Flags func(fs *flag.FlagSet)
	// Observe, when set, is called once the flags are parsed, before the
	// Service is built; the Observers it returns watch the Service, its
	// maintenance, the event Dispatcher and the HTTP routes.
	Observe func(ctx context.Context) (Observers, error)
	// Check, when set, is called once the flags are parsed, before
	// anything starts; its error stops Run (a *FlagError exits 2 with its
	// message on one line).
	Check func() error
}

// FlagError is an error of Options.Check about the command line: ExitCode
// prints its message on one line and returns 2, as for a bad flag.
type FlagError struct {
	// Message is the line printed.
	Message string
}

// Error returns the message.
func (e *FlagError) Error() string { return e.Message }

// Observers are what Options.Observe returns; nil fields observe nothing.
type Observers struct {
	// Service observes the Service, its maintenance runner and the
	// Dispatcher (verification.Options.Observer, DispatcherOptions.Observer).
	Service verification.Observer
	// HTTP observes the adapter's routes (httpadapter.Options.Observer).
	HTTP httpadapter.Observer
	// Started, when set, is called with the Service before the server
	// listens (to register gauges, serve metrics); stop is called at
	// shutdown, after the server and the background jobs stopped.
	Started func(ctx context.Context, svc *verification.Service, stdout io.Writer) (stop func(), err error)
}
