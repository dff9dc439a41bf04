// Package veriff is the Veriff adapter: hosted sessions out, decision and
// event webhooks in, and the session's images fetched after an approval.
// It is written from Veriff's public documentation (devdocs.veriff.com:
// "HMAC Authentication and Endpoint Security", "Decision webhook", "Event
// webhook", "Verification session status codes (table)", the sessions and
// media API reference) and uses the standard library only.
//
// # Signatures
//
// Every webhook carries X-AUTH-CLIENT, the integration's API key, and
// X-HMAC-SIGNATURE (some Veriff APIs: VRF-HMAC-SIGNATURE), the hex
// HMAC-SHA256 of the raw body under the integration's shared secret.
// Verify checks both, in constant time, over the bytes received: never
// parse and re-encode a body before verifying it. Outbound calls are
// signed the same way: POST bodies, and for GET requests the id in the
// path (the session id for /v1/sessions/{id}/media and
// /v1/sessions/{id}/decision, the media id for /v1/media/{id}).
//
// # Decisions
//
// Parse reads two payloads. A decision webhook (and the decision API's
// answer) has a "verification" object; it maps, by verification.status
// (by verification.code when the label is missing), as follows:
//
//	approved               9001  approved                final
//	declined               9102  declined                final
//	resubmission_requested 9103  resubmission_requested  not final
//	expired / abandoned    9104  expired                 final
//	review                 9121  review                  not final
//	submitted / started    7002 / 7001                   not final
//
// with SessionID = verification.id, AttemptID = verification.attemptId,
// SubjectRef = verification.vendorData, Reason = verification.reason,
// ReasonCodes = [verification.reasonCode], the document's type, number,
// country and validUntil, and OccurredAt = verification.decisionTime
// (acceptanceTime when decisionTime is null). An event webhook ("id",
// "action") gives started (7001) or submitted (7002), without a time:
// Veriff sends none, so these never override a timed decision. Other
// event actions give no decision. Veriff sends no event id, so
//
//	decision EventKey = DeriveEventKey("veriff", "decision", id, attemptId, status, code, decisionTime, acceptanceTime)
//	event    EventKey = DeriveEventKey("veriff", "event", id, attemptId, action, code)
//
// A redelivered webhook and the same decision fetched with FetchDecision
// have the same key. Resubmission webhooks of SDK sessions are delayed 5
// minutes by Veriff; their decisionTime still orders them correctly.
//
// # Sessions and media
//
// StartSession calls POST /v1/sessions with vendorData = the subject's
// external identifier; the answer's verification.url is where to send the
// user. ListMedia (GET /v1/sessions/{id}/media) picks, for the contexts
// document-front, document-back and face, the first image Veriff lists,
// and OpenMedia (GET /v1/media/{id}) streams it. Calls retry timeouts, 5xx
// and 429 a bounded number of times (providers.HTTPOptions); errors never
// carry ids, bodies or secrets.
//
// Package verifftest answers these endpoints for tests and demos.
package veriff
