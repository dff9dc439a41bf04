// Package storage holds the implementations of verification.Store and the
// suite that defines what a store must do:
//
//   - storage/memory: the reference store, in process memory (tests, and the
//     model the others are checked against);
//   - storage/sqlite: the default store (modernc.org/sqlite, WAL, one writer);
//   - storage/postgres: PostgreSQL through pgx v5;
//   - storage/storagetest: the conformance suite every store runs.
//
// This package itself has no code; it documents how to write a store of your
// own.
//
// # How to write your own store
//
//  1. Implement verification.Store: SubjectStore, RequirementStore,
//     ReviewStore, GrantStore, ApplicationStore, FileStore, IDSessionStore,
//     EventStore, OutboxStore, IdempotencyStore, ProviderStore,
//     BlobDeletionStore (the tombstones of bytes to delete after a commit),
//     AuditStore, ReadStore (the read routes' one-statement reads; each can
//     be written from the general reads, as storage/memory does) and InTx.
//     The contract of every method is in its doc comment in
//     verification/store.go, verification/outbox.go,
//     verification/providerstore.go, verification/audit.go and
//     verification/reads.go. Add a compile-time check,
//     var _ verification.Store = (*Store)(nil).
//
//     The outbox's delivery state, the Idempotency-Key records, what
//     identity providers reported (events unique by provider and event
//     key, provider sessions with their media queue) and the audit trail
//     are part of Store, not optional capabilities: the Dispatcher, the
//     HTTP adapter and every admin act need them, every store of this
//     module has them, and the suite checks them, so a store that passes
//     storagetest.Run serves every feature. The optional extras, detected
//     by type assertion, are verification.Checkpointer (moving deleted
//     data out of a write-ahead log: implement it if your database keeps
//     one) and two that save round trips, on the transaction-bound Store:
//     verification.SubjectStatesLocker (a subject's lock and states in one
//     call) and verification.CommitWriter (a transaction's last writes
//     sent with its commit). The suite checks each against the calls it
//     stands for where a store has it, and skips that case otherwise.
//
//  2. Never read the clock. Every timestamp (CreatedAt, DecidedAt, the
//     ExpiresBefore and DecidedBefore cut-offs, ...) is in the arguments;
//     store it and compare with it, never with the database's now(). Return
//     times exactly as given: in UTC (time.UTC, not time.Local), to the
//     microsecond, and a zero time.Time as the zero time.Time (store NULL,
//     not 0001-01-01 in some other zone).
//
//  3. Return the sentinel errors of package verification, wrapped with %w
//     and some context if you like: ErrNotFound for an absent object (also
//     for a malformed key: absent is absent), ErrConflict for a uniqueness
//     clash (map your driver's unique-violation code to it; the conflicting
//     write inserts nothing), ErrClosed after Close, and the context's own
//     error when ctx is cancelled (errors.Is(err, context.Canceled) must
//     hold). A driver error never escapes unwrapped.
//
//  4. Return copies: a caller mutating a returned Subject's Tags, an
//     Application's Steps or a RawMessage must not change what is stored,
//     nor must mutating an argument after the call. Nil and empty slices are
//     the same "none". JSON (answers, event data) may be re-encoded (jsonb
//     is fine) but a nil answer must come back empty, not as "null". Every
//     field round-trips, Subject.EventSeq (the Service's per-subject event
//     counter) included.
//
//  5. Keep the orders the contract names. IDs (subjects, reviews, grants,
//     applications) and event Seq values are positive and increase in
//     insertion order: an auto-increment or identity column does it; IDs
//     may skip after a rollback, never go back. Lists come in ID order
//     (ListGrants and ListApplications reversed with Desc); requirement
//     states by Name compared byte-wise as Go does (COLLATE "C" in
//     PostgreSQL); files by CreatedAt then ID; identity-verification
//     sessions newest CreatedAt first and, among equal times, the last
//     inserted first (keep an insertion sequence, do not rely on IDs);
//     events by Seq. Identifiers, UUIDs, IDs, tags and names match exactly
//     (case-sensitive, no pattern matching).
//
//  6. Implement InTx as one database transaction and pass fn a Store bound
//     to it (a new value sharing your pool, not a transaction hidden in the
//     context). If fn returns an error, roll back and return that error
//     unchanged (errors.Is must find it); if fn panics, roll back and
//     re-panic with the same value. Either way release the connection or
//     lock: the next transaction must run. tx.InTx runs the inner fn in the
//     same transaction (no new transaction, no savepoint needed): an outer
//     error rolls back the inner writes too. With a cancelled context InTx
//     commits nothing and returns an error matching context.Canceled; if the
//     context is cancelled while fn runs, either commit and return nil or
//     roll back and return the context's error, never something in between.
//     A read that finds nothing inside fn (ErrNotFound) must leave the
//     transaction usable: the Service carries on after it.
//
//  7. Make LockSubject a real lock. Inside InTx it reads the subject and
//     holds a write lock on it until the transaction ends, so that two
//     transitions of the same subject (lock, read Level, write Level+1, add
//     a grant and an event) run one after the other: SELECT ... FOR UPDATE
//     in PostgreSQL; in SQLite, start write transactions with BEGIN
//     IMMEDIATE on the single writer connection so they are serial anyway.
//     Outside InTx it is GetSubject. Under contention a transaction waits
//     (a busy timeout, a lock wait); it does not fail. A store that detects
//     conflicts instead (SERIALIZABLE) must retry the whole fn itself; fn
//     then runs more than once, so prefer locks.
//
//  8. Page the same way everywhere. ListGrants, ListApplications and
//     ListDeliveries return a verification.Page[T]{Total, Items}: Total
//     counts every match, Items the page; Limit 0 returns only the total,
//     and an offset past the end returns no items and the full total (the
//     scans ListFiles and ListEvents, which do not page, return slices).
//     Every filter names the subject SubjectID. Filter on current data:
//     ListGrants with Tags keeps the grants of subjects that carry at least
//     one of the tags now (after any UpdateSubject), counts each grant once
//     even when its subject carries several of the tags (EXISTS, not a
//     JOIN that multiplies rows), and an empty non-nil Tags matches
//     nothing. Index what the filters and orders use: the listing must stay
//     fast at millions of grants.
//
//  9. Run the conformance suite under the race detector (go test -race),
//     with a factory that returns a fresh, empty store per call (see below).
//     Subtests run in parallel, each on its own store. While you work on one
//     aggregate, call its entry point instead (storagetest.RunSubjects,
//     RunGrants, RunTransactions, RunConcurrency, ...). The suite is the
//     contract: memory, sqlite and postgres all pass it unchanged, and so
//     must yours.
//
//  10. Check the races the Service relies on with your store: two first
//     logins of one user (verificationtest.RaceEnsureSubject, which needs
//     CreateSubject's ErrConflict on a duplicate identifier), across
//     several Stores on one database if your deployment has replicas.
//
// The stores of this module keep one file per aggregate with the same
// names (subject.go, requirement.go, review.go, grant.go, application.go,
// file.go, idsession.go, event.go, outbox.go, idempotency.go, store.go), so
// a rule is found in the same place in each. String ids (files, wizards,
// sessions, events) come from the Service, canonical UUIDv7 by default;
// store them as text, since a host may inject another generator.
//
// The test that runs the suite:
//
//	func TestStore(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) verification.Store {
//			s := openEmptyStore(t) // a new database, file or schema per call
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
package storage
