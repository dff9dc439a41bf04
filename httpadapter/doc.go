// Package httpadapter serves the KYC routes over a verification.Service,
// inside the host's own HTTP server and behind the host's own
// authentication. The routes come in six families, each wire-compatible
// with the public API it follows, so that a client written for that API
// works unchanged:
//
//	family                 routes                                            compatible with
//	verification status    GET /api/v2/user/verification-status              BTC Direct API v2
//	verification history   GET /api/v2/my/verifications[/{verificationId}]   B2BROKER B2CORE REST API (front office)
//	wizard                 GET /api/v2/my/verifications/wizard, POST ...     B2CORE REST API (front office)
//	pending request        GET /external/api/v1/me/pending_verification_request  Payway (Tulo) external API v1
//	identity verification  GET /api/v1/me/natural-person/id-verification     ePróspera API
//	admin history          GET /api/v2/verifications[/{verificationId}]      B2CORE REST API (back office)
//
// plus extensions in the same style (uploads, answers, signed files, admin
// review). The scopes those APIs use (/external/me/r,
// eprospera:person.id_verification.read, agent:person.id_verification.read)
// are only defaults: Options.Scopes names the host's own.
//
// # Mounting
//
// New builds an Adapter; Register adds the public routes and RegisterAdmin
// the admin routes, as full "METHOD /prefix/path" patterns (only {name}
// wildcards) through the one-method Router interface, so that the admin
// routes can live on an internal listener:
//
//	a, err := httpadapter.New(svc, httpadapter.Options{
//		Authenticator: hostAuth,            // required
//		Signer:        signer,              // for identity verification's image URLs
//		BaseURL:       "https://kyc.example.com",
//	})
//	mux := http.NewServeMux()            // Go 1.22+ patterns
//	a.Register(mux, "/kyc")              // GET /kyc/api/v2/user/verification-status, ...
//	internal := http.NewServeMux()
//	a.RegisterAdmin(internal, "/kyc")    // GET /kyc/api/v2/verifications, ...
//
// chi (v5.1 and later: its Handle accepts "METHOD /path" patterns and sets
// r.PathValue) takes the same calls:
//
//	r := chi.NewRouter()
//	a.Register(r, "/kyc")
//	a.RegisterAdmin(r, "/kyc")
//
// Routers that mount one handler (gin, echo) use Handler, which serves the
// public routes only, and AdminHandler, which serves the admin routes only,
// each on a private ServeMux; the prefix is not stripped by them, and may
// have been stripped in front of them:
//
//	g.Any("/kyc/*any", gin.WrapH(a.Handler("/kyc")))
//	internal.Any("/kyc/*any", gin.WrapH(a.AdminHandler("/kyc")))
//	mux.Handle("/kyc/", http.StripPrefix("/kyc", a.Handler("/kyc")))
//
// Behind http.StripPrefix (or any router that strips a prefix from
// URL.Path and keeps RequestURI), the signed file URLs name the path the
// client used and verify against it, whatever was stripped in front of the
// registered prefix.
//
// The prefix may be "" (routes at the root). Register panics on an invalid
// prefix, as http.ServeMux does on an invalid pattern.
//
// Requests that reach no route answer in the dialect of the family their
// path belongs to, never in net/http's plain text: a wrong method is 405
// with an Allow header, an unknown path under the prefix 404. On an
// *http.ServeMux, Register and RegisterAdmin install this Fallback for the
// prefix themselves (the patterns prefix and prefix+"/"; with the empty
// prefix /api/v2/, /api/v1/ and /external/api/v1/, so a host keeps the rest
// of its mux); on chi, set it as the router's handler for both cases:
//
//	fb := a.Fallback("/kyc")
//	r.NotFound(fb.ServeHTTP)
//	r.MethodNotAllowed(fb.ServeHTTP)
//
// ServeMux redirects (307) a path with an empty, "." or ".." segment
// before any handler runs; wrap the mux in Guard to answer those 404 in
// the dialect instead (Handler does):
//
//	srv := &http.Server{Handler: a.Guard("/kyc", mux)}
//
// # Routes
//
//	route                                                      | family | who
//	GET  /api/v2/user/verification-status                      | status | user token, or API key + X-User-Identifier
//	GET  /api/v2/my/verifications                              | history| user (same credentials)
//	GET  /api/v2/my/verifications/{verificationId}             | history| user, own grants only
//	GET  /api/v2/my/verifications/wizard                       | wizard | user
//	POST /api/v2/my/verifications                              | wizard | user
//	POST /api/v2/my/verifications/files                        | ext    | user: multipart upload of a document image
//	POST /api/v2/user/requirements/{name}                      | ext    | user: answer a requirement
//	POST /api/v2/my/verifications/provider-sessions            | ext    | user: start an identity provider's hosted session
//	GET  /external/api/v1/me/pending_verification_request      | pending| user token with scope /external/me/r
//	GET  /api/v1/me/natural-person/id-verification             | idv    | user token with eprospera:person.id_verification.read, or agent key with agent:person.id_verification.read
//	GET  /api/v1/me/natural-person/id_verification             | idv    | alias of the above
//	GET  /api/v1/files/{fileId}?exp&kid&sig                    | ext    | a URL signed by Options.Signer; no credential
//	GET  /openapi.json                                         | ext    | anyone (Options.ServeOpenAPI)
//	admin (RegisterAdmin):
//	GET  /api/v2/verifications (+ filter[clientId])            | admin  | admin, limited to its tags
//	GET  /api/v2/verifications/{verificationId}                | admin  | admin, limited to its tags
//	GET  /api/v2/applications (+ filter[clientId], filter[status]) | ext    | admin
//	POST /api/v2/applications/{applicationId}/decision         | ext    | admin: {"decision": "approved"|"rejected", "reason"}
//	POST /api/v2/clients/{clientId}/requirements/{name}        | ext    | admin: {"value", "status", "reason", "final"}
//	POST /api/v2/clients/{clientId}/requirements/{name}/review | ext    | admin: {"decision", "reason", "final"}
//	GET  /api/v2/files/{fileId}                                | ext    | admin: a document image for review
//	GET  /api/v2/applications/{applicationId}                  | ext    | admin: one application
//	POST /api/v2/applications/{applicationId}/claim|release    | ext    | admin: claim for review (409 when another admin holds it), release
//	GET  /api/v2/clients/{clientId}[/timeline]                 | ext    | admin: a client for review, its history
//	POST /api/v2/clients/{clientId}/grants                     | ext    | admin: {"level", "reason"} (reason required)
//	POST /api/v2/clients/{clientId}/requirements/{name}/reset  | ext    | admin: {"reopen"}
//	POST /api/v2/clients/{clientId}/tags|legal-hold|erase      | ext    | admin: {"tags"}, {"hold"}, {"confirm": true}
//	GET  /api/v2/deliveries/dead, POST /api/v2/deliveries/replay | ext  | admin without tag limits: dead letters, {"eventId", "sink"}
//	GET  /api/v2/audit (+ filter[clientId|actor|action|since|until]) | ext    | admin, limited to its tags: the audit trail as NDJSON or CSV (Accept)
//	provider webhooks (RegisterProviderWebhooks):
//	POST /webhooks/providers/{provider}                        | ext    | no credential: the provider's signature
//
// The identity verification and file routes are registered only when Options.Signer is
// set. openapi.json (embedded, see OpenAPI) describes every route, request
// and answer, including every error status.
//
// # Authentication
//
// The host's Authenticator maps a request to a Principal: a User token
// (the verification status API's user authorization token and the OAuth /
// identity tokens of the pending request and identity verification APIs
// are this one kind: a bearer token acting for one
// subject, with scopes), an APIKey ("sk-", the host's backend acting for the
// user named by X-User-Identifier), an AgentKey ("ak-", acting for one
// subject, with scopes) or an Admin (admin id, optional client tags). It
// returns ErrNoCredentials, ErrCredentialsExpired, ErrCredentialsInvalid or
// ErrMultipleMethods when it cannot; any other error is an internal failure.
// StaticAuthenticator (a token table with expiry, for tests and the demo)
// and ContextAuthenticator (for hosts whose middleware has already
// authenticated and stored the principal with WithPrincipal) are provided.
//
// An authentication method is one non-empty occurrence of: the Authorization
// header ("Bearer <credential>"), the X-API-Key header, or the access_token
// query parameter (RFC 6750). Using more than one on a request, two
// Authorization headers included, is ER803. Credential parses them for
// Authenticators.
//
// The ER7xx/ER8xx codes of the verification status API, on the /api/v2 routes:
//
//   - User routes (status, my/..., user/requirements): no credentials ER700,
//     expired ER701, invalid ER702 for tokens; for an API key (sk-, or the
//     X-API-Key header) ER806 when absent but X-User-Identifier is sent,
//     ER805 when invalid or expired; an agent key that fails is "another
//     token": ER802, ER800, ER801.
//   - Admin routes: ER802, ER801, ER800 for tokens, ER805 for API keys (an
//     API key is then refused with ER713: admin routes need an admin).
//   - API key acting for a user: no X-User-Identifier ER704, a malformed one
//     (not 36-255 letters and digits, or sent twice) ER707, one linked to no
//     user ER705, a deleted user ER709.
//   - User token with an X-User-Identifier: it must be the token's user's
//     identifier (ER707 if malformed, ER703 otherwise); without the header
//     the token's user is used. A deleted user's token gets ER709.
//   - A principal of the wrong kind for the route (an agent key or an admin
//     on a user route, a user on an admin route) gets the extension code
//     ER713, 403.
//
// User routes serve only the caller's data: another subject's grant, wizard
// or file answers 404 exactly like an absent one. An admin with tags sees
// only clients carrying one of them, in lists, totals, details and filters:
// filter[clientId] is intersected with the tags, never trusted, and an
// invisible client looks absent (empty list, 404, or ER709 on the client
// routes, the same body as an unknown client). AdminTags nil sees every
// client; empty (non-nil) sees none. These rules are the Service's: the
// adapter maps the Principal to a verification.Actor (AdminActor with the
// admin's id and tags, UserActor for the subject a user route acts for) and
// keeps no rule of its own.
//
// # Dialects and statuses
//
// Each route family answers in its document's shapes, errors and time
// formats included; one renderer per family:
//
// The /api/v2 routes (verification status, verification history, wizard,
// admin history and the extensions) answer errors as the verification
// status API does, {"errors": {"ERxxx": {"code", "message", "solution"}}},
// with its catalog's exact texts for its codes. Statuses:
//
//	401  ER700 ER701 ER702 ER800 ER801 ER802 ER805 ER806
//	400  ER803 ER704 ER707, and ER710 (invalid request: the message names the
//	     parameter, header or field and says what is wrong)
//	403  ER703, ER713 (forbidden: wrong kind of principal, a host-set
//	     requirement, uploads not configured)
//	404  ER705 ER709, ER711 (not found; may name the field, never echoes ids)
//	409  ER706 ER708, ER712 (conflict with the current state, or an
//	     Idempotency-Key whose first request is still running), ER714
//	     (attempts exhausted or final rejection), ER718 (Idempotency-Key
//	     reused for another request)
//	410  ER715 (the wizard or application expired)
//	413  ER716 (body or upload too large)
//	415  ER717 (file content not JPEG, PNG or PDF by its magic bytes)
//	429  ER719 (the subject's unsubmitted uploads are at their limit:
//	     verification.Options.MaxUnsubmittedFiles / MaxUnsubmittedBytes)
//	500  ER999 (internal error or panic; the cause is logged, never sent)
//	503  ER999 (store closed, request timed out or cancelled)
//
// ER706 belongs to subject creation, which hosts do through the Service; no
// route answers it. Lists answer {"total": n, "data": [...]} and details
// {"total": 1, "data": [grant]} as in the verification history API, with createTime formatted
// "2006-01-02T15:04:05+00:00" in UTC.
//
// The pending request route answers {"item": {...}} with times "2024-01-15 12:00:00
// UTC" and its named errors as {"error": "<name>", "message": "<text>"}
// (Payway's convention: every error carries a message): 400
// unknown_parameter (any query parameter: the route takes none),
// invalid_request (two authentication methods); 401 missing_token,
// invalid_token; 403 insufficient_scope, forbidden (not a user token); 404
// not_found (the account is deleted or unknown); 500 internal_server_error;
// 503 service_unavailable.
//
// The identity verification routes answer the ePróspera API's exact bodies: {"error": "missing_token"} and
// {"error": "invalid_token"} (401; also for two methods and for a deleted
// user's token), {"error": "missing_scopes: <scope>"} (403, a user token
// without the scope), {"error": "Insufficient permissions"} (403, an agent
// key without its scope, an sk- key, an admin), {"error": "Internal server
// error"} (500); and {"error": "unknown_parameter: <name>"} (400) for a
// query parameter. Dates are "2006-01-02T15:04:05.000Z". The signed file
// route uses the same dialect: {"error": "invalid_signature"} or
// {"error": "expired_signature"} (403), {"error": "not_found"} (404).
//
// # Identity providers
//
// RegisterProviderWebhooks serves POST /webhooks/providers/{provider} for
// each provider of Options.Providers (providers/veriff, onfido, sumsub,
// fake). The route takes no user credential: the body is read as sent,
// capped at Options.MaxWebhookBytes (1 MiB; 413 beyond), and the
// provider's Verify checks its signature over those raw bytes before
// anything parses them. It answers in the pending request API's {"error", "message"}
// shape: 401 invalid_signature (no WWW-Authenticate: it is not a token
// route), 400 malformed_payload (signed but not the documented shape), 404
// unknown_provider, 503 service_unavailable when the store fails, so the
// provider delivers again; and 200 {"results": [{"result", "eventKey"}]}
// for applied, stale, duplicate and unmatched decisions alike, so the
// provider stops retrying (Service.ApplyProviderDecision decides which).
//
// POST /api/v2/my/verifications/provider-sessions {"provider",
// "returnUrl"} is the wizard's extension for hosted checks: it calls the
// provider's StartSession outside any transaction, bounded by
// Options.ProviderTimeout, and answers 201 {"provider", "sessionId",
// "url", "expiresAt"}; the client sends the user to url. A provider outage
// answers 503 ER999; an unknown provider 400 naming "provider".
//
// # Ambiguities of the compatible APIs' documents, as resolved here
//
//   - The wizard's documented example is not valid JSON ("data": [ "types": {...}
//     ]). Its field table says data is "object or null" and the run
//     answer's data is {"types": [...]}; so the initialising answer's data
//     is {"types": [Document Type objects {id, description, enabled,
//     example, group}]}, or null when the next step needs no document.
//   - The run answer's data.types lists the names of the document types
//     submitted in the wizard so far ("passport"), as the table says ("an
//     array of string values specifying the types of submitted documents").
//   - The run request: the wizard's curl example wraps the documented body in "data":
//     {"data": {"documents": {"type": <id>, "files": [<file ids>]}, "uuid":
//     "..."}}; that is the accepted body. Files are ids returned by the
//     upload route, one per side of the type, in the type's side order. The
//     curl sends it without a Content-Type, which curl turns into
//     application/x-www-form-urlencoded: JSON bodies are accepted under that
//     type, application/json, or none.
//   - previuosLevel in the field tables is a typo: the examples' previousLevel
//     is used, null for a subject's first grant.
//   - userId appears as "1" and as 11: it is an integer (the field table's
//     type), or null when the grant was automatic.
//   - The wizard's table lists paths without /api and with a trailing slash
//     on the POST; the curl examples are used: /api/v2/my/verifications.
//   - The pending request's id is the application's uuid (the wizard's uuid);
//     account_id is the subject's external identifier; id, created_at and
//     expires_at appear only while a request is pending.
//   - Identity verification's signed URLs are BaseURL + prefix + /api/v1/files/{fileId}
//     with exp, kid and sig (documents.Signer; valid one hour by default);
//     without BaseURL they are root-relative. Purged images are null.
//
// # Requests
//
// Every route: unknown query parameters are refused (naming them), a
// parameter given twice is refused, ids are validated before any store
// call, JSON bodies are size-limited (Options.MaxBodyBytes), must be an
// object (null, arrays, strings, numbers and booleans are refused with
// 400), are decoded with unknown fields refused and validated with validator/v10 (messages name
// fields by their JSON path, e.g. "data.documents.type"). Lists take limit
// (1-100, default 10), offset (>= 0), sort_order (asc | desc, default desc)
// and sort_by (createTime); admin lists take filter[clientId], with raw or
// percent-encoded brackets. No bad input is answered with a 5xx.
//
// Uploads are multipart/form-data with the fields documentType, side and
// file, in that order; the file part is streamed (mime/multipart's
// NextPart, never ParseMultipartForm) into Service.Upload, which checks the
// content by magic bytes and the size; a form that continues after the
// file part is refused before anything is stored. Everything before the
// file's bytes (preamble, fields and part headers) is capped at 64 KiB
// together and answered 413 beyond (mime/multipart alone would hold up to
// 10 MiB of headers per part in memory).
//
// POST routes honour an Idempotency-Key header (1-255 printable ASCII
// characters), as Stripe does, keeping the records through the Service:
// the first request with a key runs and its answer is kept for
// Options.IdempotencyTTL (24 hours); a repeat with the same key and the same
// request gets that answer again with Idempotent-Replayed: true; the same
// key with another request (another body, or another path on the same
// route) is refused with 409 ER718; a repeat while the first still runs gets
// 409 ER712. Keys are scoped per caller (subject or admin) and route.
// Validation failures (400) and server errors (5xx) are not kept, so the
// corrected request may reuse its key. An upload's request is its fields
// and the SHA-256 of its bytes, so a retry with another multipart boundary
// is the same request.
//
// # Logging
//
// The adapter is silent unless Options.Logger (zerolog) or Options.Slog
// (log/slog: the same lines, as slog records) is set. Each request logs one
// access line at Info (method, route pattern with the prefix, status, bytes,
// duration, request id, principal kind);
// refusals log at Debug (route, status, problem kind); internal failures and
// panics at Error with the cause or stack. Tokens, identifiers, paths with
// their ids, query strings (signed URLs, access_token), bodies, answers and
// file bytes are never logged.
//
// The request id is the host's when it has one: Options.RequestIDFunc
// (e.g. chi's middleware.GetReqID) or a value stored with WithRequestID;
// otherwise a well-formed value of the Options.RequestIDHeader header
// (X-Request-Id by default); otherwise a generated one. Every log line of
// the request carries it, and the answer echoes it in that header.
package httpadapter
