// Package screening holds the provider-neutral side of sanctions and PEP
// screening: the Query a screener is asked about, the Hits it answers with,
// the Screener interface that list services implement, and the policy that
// turns a Result into an Outcome.
//
// It imports only the standard library. Two screeners implement it:
// screening/watchman (an HTTP client for moov-io Watchman's /v2/search) and
// screening/listscreen (a local list loaded from a CSV file the host
// supplies). Any other list service can be plugged in by implementing
// Screener, and ListVersioner when it can tell which list version it holds.
//
// # Screening a person
//
// Build a Query from what the subject answered (the full name, and the birth
// date and nationality when known), run it through a Screener, and decide:
//
//	list, err := listscreen.LoadFile("/etc/kyc/pep.csv", listscreen.Options{Name: "pep"})
//	if err != nil { ... }
//	q := screening.Query{
//		FullName:  "Jose Garcia Marquez",
//		BirthDate: time.Date(1971, 3, 14, 0, 0, 0, 0, time.UTC),
//		Country:   "CO",
//	}
//	res, err := screening.Run(ctx, list, q, now) // now from the caller's clock
//	switch {
//	case errors.Is(err, screening.ErrInvalidQuery):
//		// the answers do not make a screenable query: ask the subject again
//	case errors.Is(err, screening.ErrUnavailable):
//		// the list service is down: leave the requirement pending, retry later
//	case err != nil:
//		// ErrBadAnswer or ctx's error
//	}
//	switch screening.Decide(res, screening.DefaultThreshold) {
//	case screening.Clear:
//		// approve the screening requirement; store res.ListVersion and res.ScreenedAt
//	case screening.NeedsReview:
//		// keep it pending for a reviewer with res.Above(threshold)
//	}
//
// Run validates the query, sorts the hits best first, refuses scores outside
// 0..1 and stamps ScreenedAt with the time the caller passes: screeners never
// read a clock.
//
// # Re-screening when the list changes
//
// A screener that knows its list version implements ListVersioner. Store
// Result.ListVersion with each subject's screen; when the screener's current
// version differs, every subject screened against the old one is due again:
//
//	if v, ok := screener.(screening.ListVersioner); ok {
//		current, err := v.ListVersion(ctx)
//		if err == nil && current != stored {
//			// re-screen
//		}
//	}
//
// # Hits and reviewers
//
// A Hit names the list, the entry's id within it (Hit.Key joins the two),
// the list's name for the entry, a score from 0 to 1 and the programmes the
// entry is listed under. Scores are comparable only between results of the
// same screener: choose the threshold per screener.
//
// Screeners must never log a Query: names and birth dates are personal
// data. Their errors name fields, never values.
package screening
