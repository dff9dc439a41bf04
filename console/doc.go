// Package console is the compliance review console: server-rendered pages
// (html/template, embedded, no JavaScript at all) in which reviewers work
// the queue of submitted applications, open a case, look at document sides,
// approve or reject them, decide applications, grant levels, reset
// requirements, set tags and legal holds, erase personal data and replay
// dead-lettered webhook deliveries.
//
// A host mounts it behind its own admin authentication, as riverui is
// mounted for River:
//
//	c, err := console.RegisterConsole(mux, "/console", svc, console.Options{
//		Authenticator: myAdminSessions, // maps a request to an httpadapter.Principal
//		LoginURL:      "/login",
//	})
//
// # What it decides, and what it does not
//
// Nothing: every page is one or a few verification.Service calls made with
// the admin's verification.Actor, built from the Principal the host's
// Authenticator returns. The Service decides what a tag-scoped admin sees
// (a client outside its tags is "not found"), whether a claim conflicts
// with another reviewer's, which level a decision grants. Only Admin
// principals get pages; every other principal gets 403.
//
// # Security
//
//   - Cross-origin POSTs are refused by http.CrossOriginProtection (Fetch
//     metadata and Origin checks); hosts should also issue their session
//     cookie with SameSite=Strict (the demo server does).
//   - Every response carries ContentSecurityPolicy (no script, styles and
//     images from the console's origin only, forms posting back to it, no
//     framing), Cache-Control: no-store, X-Content-Type-Options: nosniff and
//     Referrer-Policy: no-referrer.
//   - Document images are served by the console itself, through one-hour
//     signed URLs (Options.Signer) that also need the admin's session, with
//     verification.Service.OpenFile and the admin's Actor, so every view is
//     scoped and recorded by the Service.
//   - Every state-changing action but claim and release goes through a
//     confirmation page, then redirects (POST-redirect-GET).
//
// # Accessibility
//
// Pages use semantic tables with captions and header scopes, a label for
// every control, a skip link to the main content, visible focus outlines
// and no information carried by colour alone (the queue's age colouring is
// repeated as text: on time, due soon, late). Zoom and rotation of
// document images are CSS only (a checkbox and radio buttons), so they
// work from the keyboard.
package console
