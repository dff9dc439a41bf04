package verification

import "context"

// Sink is a destination the Dispatcher delivers events to. Deliver must
// be safe for concurrent use; an error (or a panic) means "try again later".
type Sink interface {
	// Name identifies the sink's delivery state in the store; keep it stable.
	Name() string
	// Deliver hands e to the destination; an error (or a panic) means "try
	// again later".
	Deliver(ctx context.Context, e Event) error
}

// SubscriberFunc adapts a Go callback into a Sink: in-process subscribers
// (send an email, update account limits). It is called at least once per
// event, in order per subject; make it idempotent on Event.ID.
func SubscriberFunc(name string, fn func(ctx context.Context, e Event) error) Sink {
	return funcSink{name: name, fn: fn}
}

type funcSink struct {
	name string
	fn   func(ctx context.Context, e Event) error
}

func (f funcSink) Name() string                               { return f.name }
func (f funcSink) Deliver(ctx context.Context, e Event) error { return f.fn(ctx, e) }
