// Package onfido is the Onfido (Entrust Identity Verification) adapter for
// Onfido Studio: an applicant and a workflow run out, workflow run
// webhooks in. It is written from Onfido's public documentation ("Manual
// webhook signature verification", the webhooks and workflow runs API
// reference, API v3.6) and uses the standard library only.
//
// # Signatures
//
// Each webhook event carries X-SHA2-Signature, the hex HMAC-SHA256 of the
// raw request body keyed by the webhook's token (returned when the webhook
// was registered). Verify compares it in constant time over the bytes
// received; parse only afterwards, since Onfido warns that re-encoding
// reorders fields.
//
// # Decisions
//
// Events are {"payload": {"resource_type", "action", "object": {"id",
// "status", "started_at_iso8601", "completed_at_iso8601", "href"},
// "resource": {...}}}. Parse turns the workflow run events
// (workflow_run.started, workflow_run.completed) into a decision, by
// object.status:
//
//	awaiting_input                  started    not final
//	processing                      submitted  not final
//	awaiting_client_input, review   review     not final
//	error                           review     not final (someone must look)
//	approved                        approved   final
//	declined                        declined   final
//	abandoned                       expired    final
//
// with SessionID = object.id (the workflow run), SubjectRef =
// resource.applicant_id (when the event carries the resource), ReasonCodes
// = resource.reasons, and OccurredAt = completed_at_iso8601, else
// started_at_iso8601. Check, report, workflow task, watchlist and evidence
// file events give no decision. Workflow outputs are configured per
// workflow, so decisions carry no document facts. Onfido sends no event id:
//
//	EventKey = DeriveEventKey("onfido", resource_type, action, object.id, object.status, started_at_iso8601, completed_at_iso8601)
//
// # Sessions
//
// StartSession creates an applicant (POST /v3.6/applicants) and a workflow
// run of the configured Studio workflow for it (POST /v3.6/workflow_runs,
// customer_user_id = the subject's external identifier); the run's
// link.url is where to send the user, and Session.SubjectRef is the
// applicant id that webhooks carry. Calls authenticate with "Authorization:
// Token token=<API token>" and retry timeouts, 5xx and 429 a bounded
// number of times (providers.HTTPOptions).
package onfido
