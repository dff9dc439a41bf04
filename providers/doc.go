// Package providers is the provider-neutral half of identity-provider
// integrations: the Provider interface every adapter implements (Veriff,
// Onfido, Sumsub in the sub-packages, a fake one for tests and demos), the
// Decision a webhook delivery turns into, and the one rule that orders
// decisions so that late, duplicate and out-of-order webhooks leave a
// session in the state it would have reached had every delivery arrived
// once, in order.
//
// It imports the standard library only; so do the adapters. Nothing here
// touches a store: the verification Service records decisions and applies
// the rule in one transaction.
//
// # Receiving a webhook
//
// A delivery is trusted only after its signature is checked over the raw
// bytes the provider sent. Read the body (capped), verify, then parse:
//
//	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
//	if err != nil { ... 413 ... }
//	if err := p.Verify(r.Header, body); err != nil {
//		// errors.Is(err, providers.ErrBadSignature): answer 401, parse nothing
//	}
//	decisions, err := p.Parse(body)
//	if errors.Is(err, providers.ErrMalformedPayload) { ... 400 ... }
//	for _, d := range decisions {
//		// record d, de-duplicated by (d.Provider, d.EventKey), and apply it
//		// if d.Supersedes(the session's current decision); else it is stale
//	}
//	// answer 200 for applied, duplicate and stale alike, so the provider
//	// stops retrying; 503 if the store failed, so it retries
//
// # Ordering: Decision.Supersedes
//
// Providers retry, so decisions arrive twice; they deliver concurrently, so
// they arrive out of order; Sumsub may send several final webhooks. For one
// provider session, d replaces the current decision prev when
// d.Supersedes(prev): a newer OccurredAt wins; at the same instant the
// higher Outcome.Rank (approved 7 > declined 6 > expired 5 >
// resubmission_requested 4 > review 3 > submitted 2 > started 1), then a
// final decision over a non-final one, then the larger EventKey. A
// duplicate (same EventKey) never supersedes. This is a strict total order
// on a session's distinct events, which is why the end state does not
// depend on delivery order (the property tests check it against shuffled,
// duplicated delivery sequences).
//
// # De-duplication: Decision.EventKey
//
// None of the three providers sends an event id. Each adapter derives one
// with DeriveEventKey from the payload fields that identify the event (its
// package docs list them), so a redelivery has the same key and two events
// never share one.
//
// # Starting a session and fetching media
//
// StartSession creates the provider's hosted session and returns the URL
// to send the user to; Session.SubjectRef says what its decisions will
// carry as Decision.SubjectRef. Adapters that can fetch the session's
// images (Veriff) also implement MediaFetcher, whose OpenMedia streams
// each image. These calls go over the network, with per-attempt timeouts
// and bounded, context-aware retries (HTTPOptions); run them outside store
// transactions and off the user's request path. Their errors match
// ErrInvalidParams, ErrUnavailable (try later), ErrRejected (do not retry)
// or ErrBadResponse, and wrap a *CallError with the HTTP status. No error
// message carries a secret, a signature, a provider id or a response body.
//
// # Personal data
//
// Decisions carry personal data (the subject reference, the document
// number). Decision.String leaves it out, so a decision logged with %v is
// safe; never log the raw webhook body.
package providers
