// Package fake is an identity provider for tests and demos, in the way
// Veriff's and Onfido's sandboxes offer forced outcomes: StartSession
// returns a local URL, Decide makes a decision with whatever outcome the
// test needs, and Deliver posts it, signed, to a webhook route, which
// verifies and parses it like any real provider's.
//
// Its webhook body is one JSON object,
//
//	{"eventId": "...", "sessionId": "...", "attemptId": "...", "subjectRef": "...",
//	 "outcome": "approved", "final": true, "reasonCodes": ["..."], "reason": "...",
//	 "document": {"type": "PASSPORT", "country": "EE", "number": "...", "validUntil": "2030-01-31"},
//	 "occurredAt": "2026-01-15T12:00:00Z"}
//
// signed in X-Fake-Signature with the hex HMAC-SHA256 of the raw body under
// Config.Secret. Unlike the real providers it carries an event id, so
// EventKey = "fake:" + eventId. ListMedia and OpenMedia serve a small PNG
// per side, so the media pipeline can be exercised without Veriff.
//
// Handler serves a session page with a button per outcome that delivers
// the decision to Config.WebhookURL: a demo user can "complete" a session
// in the browser. Never mount it in production.
package fake
