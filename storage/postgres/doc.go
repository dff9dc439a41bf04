// Package postgres is the PostgreSQL verification.Store, for hosts that run
// several replicas of their application against one database. It uses pgx
// v5 with a connection pool and passes storage/storagetest like every
// other store.
//
//	store, err := postgres.Open(ctx, "postgres://kyc@db:5432/app?sslmode=verify-full", postgres.Options{Schema: "kyc"})
//	if err != nil { ... }
//	defer store.Close()
//	svc, err := verification.New(ladder, store, verification.Options{})
//
// A host that already has a *pgxpool.Pool passes it to New instead; Close
// then leaves the pool open. Open parses the DSN, creates the pool and
// pings the server, so a malformed DSN or an unreachable server fails at
// Open rather than at the first request. Pool settings (pool_max_conns,
// ...) go in the DSN.
//
// # Schema and migrations
//
// Every table, index, trigger and function lives in one schema
// (Options.Schema, default "openkyc"), created if missing, so the store can
// share the host's database. Queries name every object with its quoted,
// schema-qualified name; the store never sets search_path or any other
// session setting, so a pool shared with the host stays as the host left
// it.
//
// The schema is built by the numbered SQL files embedded from migrations/
// (0001_core, 0002_applications_files, 0003_grant_tag_buckets,
// 0004_outbox_idempotency, 0005_subject_event_seq, 0006_delivery_fence,
// 0007_files_blob_key, 0008_blobs_data_keys, 0009_providers, 0010_erasure_maintenance),
// applied on Open and New in one transaction that first takes
// pg_advisory_xact_lock on a key derived from the schema name: replicas
// starting together apply each migration once, the others wait and find
// nothing left to do. The lock is transaction-scoped on purpose: a session
// advisory lock would stay held by a connection returned to the pool. The
// schema_migrations table records each applied version and name. A schema
// migrated by a newer version of this package is refused with
// ErrSchemaTooNew (downgrades are not supported); a schema whose recorded
// history differs from the embedded files is refused too.
//
// # Transactions and concurrency
//
// InTx runs a READ COMMITTED transaction and passes fn a Store bound to it;
// an error or a panic from fn rolls it back (the panic continues), and
// tx.InTx runs inline in the same transaction. Every state transition of
// the Service starts with LockSubject, which inside a transaction is
// SELECT ... FOR NO KEY UPDATE on the subject's row: transitions on one
// subject run one after the other, in this process or any other, and each
// sees what the previous one committed (READ COMMITTED takes a new snapshot
// per statement). FOR NO KEY UPDATE is the lock an UPDATE takes; unlike
// FOR UPDATE it lets other transactions insert rows referencing the
// subject meanwhile. Row locks were chosen over SERIALIZABLE because every
// transition has one natural lock (its subject) and then never fails: no
// retry loop, no serialization failures under contention.
//
// Inserts that can clash (identifiers, UUIDs, file, session and event IDs)
// use ON CONFLICT DO NOTHING and report ErrConflict without aborting the
// surrounding transaction, and inserts that need an existing subject check
// it in the same statement and report ErrNotFound, so a caller may handle
// either and carry on inside the transaction.
//
// # Errors
//
// Driver errors never reach callers as such: a unique violation is
// verification.ErrConflict (as are a deadlock or serialization failure, the
// "racing update" case), a missing row or a foreign-key violation
// verification.ErrNotFound, a closed store or finished transaction
// verification.ErrClosed. When the context is done, the context's own error
// is returned (pgx wraps it; the store unwraps it). Anything else is
// wrapped as "postgres: <operation>: <cause>".
//
// # Values
//
// Times are timestamptz, microsecond precision, and come back in UTC; the
// zero time.Time is stored as NULL and comes back as the zero time. JSON
// (answers, event data, application steps) is stored in json columns,
// which keep the bytes as written. Text keys that the contract orders or
// matches byte-wise (identifiers, names, tags, IDs) use COLLATE "C".
//
// # Grants and listings
//
// Grants are append-only: a trigger refuses UPDATE, DELETE and TRUNCATE on
// the grants table. A grant's ID is its position in the whole history and
// client_seq its position in its client's history. Both are handed out in
// the grant's insert statement from counter rows (a counters row and the
// subject's grant_count) bumped with UPDATE ... RETURNING, so they are
// dense and follow commit order: offset k of a listing is "id > k", or
// "id <= N-k" newest first, and likewise per client, an index range scan
// whose cost does not depend on k, and the totals are the counters. The
// price is that transactions adding grants commit one at a time from their
// AddGrant on; transitions on one subject are serialised anyway.
//
// Tag-scoped listings (GrantFilter.Tags, the subjects' current tags) keep
// per-bucket counts of grants (1,024 consecutive IDs per bucket) for each
// distinct tag set: the running sum of the matching tag sets' buckets finds
// the bucket holding the offset, and the page is read from there. A page
// reads one count row per bucket and matching tag set (about 1,000 per tag
// set for a million grants) and the IDs of the buckets it spans, the same
// at any offset; tags so rare that a page spans many buckets cost more, at
// offset 0 as well. Changing a subject's tags moves its grants' counts in
// the same transaction. The comment at the top of grant.go has the
// details. TestListGrantsUsesIndexes asserts with EXPLAIN, over 100,000
// grants, that no listing reads the grants table sequentially, with the
// actual parameters and with PostgreSQL's generic plan.
//
// Event Seq comes from an identity column: it increases in commit order
// among one subject's events (their transitions hold the subject's lock),
// not necessarily across subjects.
//
// # Outbox deliveries and idempotency keys
//
// The Store also implements verification.OutboxStore, the delivery state
// the verification.Dispatcher works from, and verification.IdempotencyStore
// (Idempotency-Key replays). RegisterSink adds a row to the sinks table;
// AddEvent inserts, in the same statement as the event, a pending delivery
// for every registered sink (one row per event and sink in deliveries,
// keyed by (event_seq, sink), with the event's subject copied), so the
// deliveries commit or roll back with the event.
//
// ClaimDeliveries selects the due deliveries that are the oldest pending
// one of their (sink, subject) (NOT EXISTS an older pending one), lowest
// Seq first, with FOR UPDATE SKIP LOCKED, and sets their lease in the same
// statement. A delivery another claimer has locked is skipped, not waited
// for; one whose claim committed meanwhile is re-checked on its new row
// version and excluded by its lease. Partial indexes over the pending
// deliveries keep a claim's cost independent of the delivered history
// (TestClaimDeliveriesUsesIndexes checks the plans over 200,000
// deliveries), and a window keeps it independent of the backlog: the
// statement reads the first 256 pending deliveries only, and when those
// hold fewer claimable ones than asked for a second statement visits each
// (sink, subject) with a pending delivery once, by a skip scan, for the
// heads further on (TestClaimWithFewHeadsReadsEachQueueOnce: 793 rows read
// in about 2 ms, against 26,074 in 23 ms unbounded, with 24,000 pending
// behind leased heads). Each claim also adds one to the delivery's fence,
// and UpdateDelivery writes only WHERE the fence is the claimer's: a
// dispatcher whose lease was taken over (paused, or its clock behind the
// others' by more than Lease minus Timeout) gets ErrConflict instead of
// overwriting the new holder's outcome (TestDispatchersWithSkewedClocksKeepOrder).
//
// ReserveIdempotency is INSERT ... ON CONFLICT DO UPDATE ... WHERE the
// stored record has expired: of several requests racing on one key (in any
// number of processes) exactly one gets the reservation, the others wait
// for its transaction and get its record and ErrConflict.
// DeleteExpiredIdempotency deletes with FOR UPDATE SKIP LOCKED, so cleaners
// on several replicas do not queue behind each other.
//
// # Several replicas
//
// The store keeps no state in process memory that replicas could disagree
// on: no caches, no ID blocks, no in-process locks. Every decision is made
// by the database inside a transaction (row locks, counter rows, unique
// constraints, transaction-scoped advisory locks), so any number of
// application replicas, each with its own pool, can share one schema; the
// tests run two pools side by side. A verification.Dispatcher may run in
// every replica: the dispatchers share the outbox's work through
// ClaimDeliveries' FOR UPDATE SKIP LOCKED and leases, so in the normal
// case (no replica dying mid-delivery) no event reaches a sink twice, and
// a subject's events reach each sink in order, one at a time; when a
// replica dies, its leases run out and another dispatcher takes over
// (TestDispatchersShareWorkAcrossPools, TestDispatcherTakesOverAfterLease).
// Replicas may start together (see
// migrations); during a rolling upgrade the first replica of the new
// version migrates the schema, and replicas of an older version then
// refuse to start (ErrSchemaTooNew) while running ones carry on, which the
// migrations so far allow as they only add tables, columns, indexes and
// triggers. (Events added by a replica older than 0004 get no deliveries:
// drain those replicas before relying on the Dispatcher.)
// The store takes no session-level state, so it also works behind
// PgBouncer in transaction mode, provided pgx's statement cache is
// compatible with it (PgBouncer 1.21+ with max_prepared_statements, or
// default_query_exec_mode=exec in the DSN).
//
// # Running the tests
//
// The tests need a PostgreSQL server (15 or later) and skip without one:
//
//	docker run -d --rm -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust -e POSTGRES_DB=test postgres:15
//	export OPENKYC_TEST_POSTGRES_DSN='postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
//	go test -race ./storage/postgres
//	go test -run '^$' -bench . ./storage/postgres
//
// Any database the user may create schemas in will do: every test works in
// its own schema with a random name and drops it when it ends, so runs
// (and tests within a run) never see each other's rows. The benchmarks
// bulk-load 1,000,000 grants once per run (see bench_test.go).
//
// # Benchmarks
//
// On a 2-vCPU VM with PostgreSQL 15 on the same machine
// (go test -run '^$' -bench . -count 2 ./storage/postgres):
//
//	BenchmarkSubmission/raw-insert-tx     0.29 ms/op (BEGIN; one-row INSERT; COMMIT)
//	BenchmarkSubmission/service           0.50-0.53 ms/op (Service.Answer: 0.55-0.58x the raw rate)
//	BenchmarkListGrants, 50 per page over 1,000,000 grants, offset 0 vs deep:
//	  all, asc, offset 0 / 900,000        0.22 / 0.18-0.20 ms
//	  all, desc, offset 0 / 900,000       0.17 / 0.17-0.19 ms
//	  one client, asc, 0 / 90,000         0.14 / 0.12-0.13 ms
//	  one client, desc, 0 / 90,000        0.22-0.24 / 0.23 ms
//	  one tag, asc, 0 / 80,000            1.35 / 1.35 ms
//	  one tag, desc, 0 / 80,000           1.37-1.42 / 1.53-1.59 ms
//	  two tags, asc, offset 170,000       2.1-2.2 ms
//	  plain ORDER BY id OFFSET 0 / 900,000  0.06-0.10 / 82-95 ms (for comparison)
package postgres
