// Package watchman is a screening.Screener backed by moov-io Watchman
// (https://github.com/moov-io/watchman), the open-source sanctions screening
// service, through its v2 HTTP API.
//
// It imports only the standard library and package screening.
//
//	client, err := watchman.New(watchman.Options{
//		BaseURL: "http://watchman:8084",
//		Source:  "us_ofac", // optional: one list only
//	})
//	if err != nil { ... }
//	res, err := screening.Run(ctx, client, screening.Query{FullName: name, BirthDate: dob}, now)
//
// # What is sent and read
//
// Screen calls GET /v2/listinfo (the list version: a digest of the
// listHashes Watchman reports for each list it holds), then GET /v2/search
// with type=person, name, birthDate (YYYY-MM-DD, when known), limit,
// minMatch and, when Options.Source is set, source. Watchman scores the
// birth date itself; it has no nationality parameter for a person, so
// Query.Country is not sent.
//
// From the search answer it reads entities[].name, sourceList (Hit.List),
// sourceID (Hit.EntityID), match (Hit.Score, 0..1) and
// sanctionsInfo.programs (Hit.Programmes); every other field is ignored, so
// newer Watchman versions that add fields keep working. An answer without
// an entities field, with an error field, with an entity lacking match,
// sourceList or sourceID, with a match outside 0..1, with data after the
// JSON value or larger than Options.MaxAnswerBytes is refused with
// screening.ErrBadAnswer: nothing of it is used, so a proxy's error page can
// never clear a subject.
//
// # Failures and retries
//
// Every attempt has its own timeout (Options.Timeout). Network errors,
// timeouts, 429 and 5xx answers are retried up to Options.Retries times with
// exponential backoff and jitter (a Retry-After in seconds is honoured, up to
// MaxBackoff); when the attempts run out the error matches
// screening.ErrUnavailable. Other statuses (400, 404) are not retried and
// match screening.ErrBadAnswer. The caller's context is honoured throughout:
// once it is done, Screen returns at once with an error wrapping ctx.Err(),
// during a backoff too.
//
// Errors never quote the request URL or Watchman's error message, which
// would carry the screened name: they name the endpoint and the status.
package watchman
