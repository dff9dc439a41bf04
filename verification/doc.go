// Package verification is the KYC engine: it applies a levels.Ladder to
// subjects, records every change through a Store in one transaction per
// state transition, and tells the world about it through an event outbox.
// It knows nothing of HTTP, SQL or any wire format: httpadapter, the
// stores under storage/ and the webhooks package translate to and from it.
//
// # The model
//
//   - A Subject is a verified party (a client, account or user of the host),
//     known by the host's external identifier, with tags that scope which
//     admins see it, and a current level.
//   - A RequirementState is a subject's state for one requirement of the
//     ladder: missing, pending (answered, awaiting review), rejected or
//     approved. Answer records a subject's answer, SetRequirement lets the
//     host or an admin set one, Review decides a pending one.
//   - A File is an uploaded document image (Upload; the bytes live in a
//     documents.BlobStore). A document requirement's answer names one file
//     per side; the answer and its files' statuses move together, and
//     ReviewFile decides one side at a time.
//   - An Application is one attempt to reach the next level: the wizard
//     (InitWizard, RunWizard) walks the subject through it, submits it, and
//     a reviewer decides it (DecideApplication). Open applications expire
//     (ExpireDue).
//   - A Grant is an append-only record of a level change, automatic or by
//     an admin (GrantLevel).
//   - An IDSession is the record of an identity check by a provider or a
//     reviewer (RecordIDSession, or approving an identity document).
//   - An Event is a state change written to the outbox in the transaction
//     that made it, with one typed Payload per EventType (EventHeader
//     carries its version and the subject's own sequence number). A
//     Dispatcher delivers events to Sinks at least once, in order per
//     subject; package webhooks provides the signed HTTP sink.
//
// # Who acts: Actor
//
// Every admin and reader call takes an Actor: an admin (with an id and
// optional tags), the host's backend, the system, an identity provider, or
// a user acting for itself. The Service alone decides what an actor may see
// and change: an admin with tags sees only subjects carrying one of them, a
// user only itself, and a subject an actor may not see looks exactly like
// an absent one. Adapters map their callers to an Actor and keep no rule of
// their own. The calls a user makes about itself (Status, Answer, the
// wizard, Upload, PendingRequest, LatestIDSession) take the subject's id,
// which the adapter has authenticated.
//
// # Errors
//
// Every error matches exactly one of the sentinel errors (Sentinels:
// ErrNotFound, ErrConflict, ErrInvalid, ...) with errors.Is, and is an
// *Error carrying a safe message, the offending field, and for the domain's
// failures a catalog Code (ER705-ER709, see Catalog). Internal causes are
// kept for logs and never shown. The HTTP adapter decides statuses and
// wording.
//
// # Storage
//
// Store is one small interface per aggregate (SubjectStore, GrantStore,
// ...), the outbox (OutboxStore) and Idempotency-Key records
// (IdempotencyStore), composed with one transaction boundary, InTx. Stores
// never read the clock; the Service passes every timestamp in. Lists that
// page return Page[T]. storage/storagetest is the executable contract, and
// storage/doc.go the checklist for writing a store.
//
// # Using it
//
//	svc, err := verification.New(ladder, store, verification.Options{Blobs: blobs})
//	sub, err := svc.EnsureSubject(ctx, userIdentifier, []string{"eu"}) // at login
//	res, err := svc.Status(ctx, sub.ID, 0)                             // what is missing
//	_, err = svc.Review(ctx, verification.AdminActor(adminID, adminTags), verification.ReviewParams{...})
//
// Time comes from Options.NowFunc and ids from Options.NewIDFunc (UUIDv7 by
// default). verification/verificationtest helps hosts test code that uses
// the Service.
package verification
