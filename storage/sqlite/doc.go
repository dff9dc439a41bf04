// Package sqlite is the default verification.Store: one SQLite database file
// through modernc.org/sqlite (pure Go, no cgo). It implements every Store
// interface, verification.OutboxStore and verification.IdempotencyStore, and
// passes storage/storagetest.
//
//	s, err := sqlite.Open(ctx, "/var/lib/kyc/kyc.db", sqlite.Options{})
//	if err != nil { ... }
//	defer s.Close()
//	svc, err := verification.New(ladder, s, verification.Options{})
//
// The files hold personal data: Open creates missing directories of the
// path with mode 0700 and a new database file with mode 0600, which SQLite
// gives its -wal and -shm files too. Existing directories and files keep
// their modes.
//
// # Connections
//
// Open builds its own connection strings from validated options, never from
// caller-supplied text (modernc.org/sqlite runs _pragma values as SQL):
//
//   - one writer connection (database/sql pool of exactly one, held by the
//     store for its lifetime): busy_timeout, journal_mode=WAL,
//     synchronous=NORMAL (FULL with Options.SynchronousFull), foreign_keys,
//     secure_delete and _txlock=immediate;
//   - a read pool (Options.MaxReadConns) with busy_timeout, foreign_keys
//     and query_only;
//   - as many connections again, query_only with the same busy timeout,
//     pinned for the read routes' one-statement reads (ReadStore's methods
//     and GetSubjectByIdentifier), their statements prepared on each. They
//     run on SQLite's C API (modernc.org/sqlite/lib, which the driver is
//     built on) opened with SQLITE_OPEN_NOMUTEX, not through database/sql:
//     for a one-row indexed read the driver's per-call mutex, its column
//     names and types fetched on every query and its boxed values cost
//     three times the statement. The wait for one honours ctx; the
//     statement then runs without ctx's cancellation (a read already
//     running is not interrupted, which the short indexed statements
//     bound);
//   - one connection for background checkpoints (see below).
//
// With Options.Exclusive every connection names SQLite's unix-excl VFS:
// the process holds a lock on the database file that keeps other processes
// out (their Open fails with ErrLocked after the busy timeout) and the WAL
// index lives in the process's memory instead of the -shm file. A read
// transaction then takes no file locks; by default it takes and releases
// one on the -shm file (two fcntl calls) unless another connection of the
// process holds the same one. A read route's request costs 13-33% less
// CPU that way. It is off by default because the openkyc command, the
// sqlite3 shell and WAL-reading backup tools open the file from another
// process while the host runs.
//
// Every write runs in a transaction on the writer that starts with BEGIN
// IMMEDIATE, so it holds the database's write lock from its first
// statement. The transactions of one Store queue for the writer (in Go,
// honouring ctx) instead of racing for the lock; a read-then-write
// transaction never fails with SQLITE_BUSY when it comes to write, which a
// deferred transaction does at once, without waiting for the busy timeout.
// Other processes (or other Stores) on the same file wait for the lock up to
// the busy timeout. LockSubject is therefore a plain read: the writer is
// exclusive (LockSubjectStates, verification.SubjectStatesLocker, reads the
// subject and its requirement states in one statement). InTx passes fn a Store bound to the transaction; a nested InTx
// runs inline; an error or a panic rolls back (the panic is re-raised). Reads
// outside a transaction use the read pool and, in WAL mode, never wait for
// the writer; a listing reads its total and its page in one read
// transaction, so the two agree.
//
// The store issues BEGIN IMMEDIATE / COMMIT / ROLLBACK itself on the writer
// connection rather than through database/sql's Tx, and runs the statements
// inside a transaction without ctx's cancellation (each method checks ctx
// first, and InTx again before COMMIT): database/sql and the driver would
// otherwise start a goroutine per transaction and per statement to watch
// ctx, which cost more than the statements. This is what brings a
// submission through the Service to about a third of the rate of a raw
// single-row INSERT transaction (see the benchmarks).
//
// # Durability and checkpoints
//
// In WAL mode with synchronous=NORMAL a commit appends to the -wal file
// without fsync: a crash of the process never loses an acknowledged
// commit (TestCrashDurability kills a writing child with SIGKILL repeatedly
// and checks every acknowledged write), but a power loss or an OS crash may
// roll back the last few; set Options.SynchronousFull to fsync every commit.
// SQLite's default checkpoint runs inside whichever commit pushes the log
// past 1000 pages, which then pays for copying and fsyncing the pages of
// hundreds of transactions; the store instead checkpoints in PASSIVE mode
// from a goroutine on its own connection every 64 commits, and keeps
// SQLite's automatic checkpoint on the writer only as a backstop at 8192
// pages. Checkpoint (PRAGMA wal_checkpoint(TRUNCATE)) copies and empties the
// log on demand: with secure_delete on, deleted rows are then gone from both
// files (erasure).
//
// # Values
//
// Times are INTEGER unix microseconds, UTC, with 0 for the zero time.Time,
// so they round-trip exactly and compare as numbers (the instant
// 1970-01-01T00:00:00Z itself reads back as the zero time). Tags are stored
// as given (a JSON array) for an exact round-trip, and in canonical form as
// a tag set (below). Answers and event data are BLOBs, byte for byte.
// Tables are STRICT.
//
// # Grants and deep offsets
//
// Grants are append-only: triggers refuse UPDATE and DELETE, and an insert
// must take the next id (MAX + 1) and the next per-client sequence number
// client_seq, which the store assigns inside the writer's transaction. Both
// sequences are therefore dense (a rolled-back insert gives its number back
// with the transaction), and an offset maps exactly onto a position:
//
//   - all grants: total = MAX(id); offset k ascending is id > k, descending
//     id <= total - k;
//   - one client: total = MAX(client_seq) on the (client_id, client_seq)
//     index; offset k is client_seq > k, or client_seq <= total - k.
//
// Both are two index seeks whatever the offset (TestQueryPlansUseIndexes
// checks the plans; BenchmarkListGrants the timings over 1,000,000 grants).
//
// A listing by tags (tag-scoped admins) keeps the grants of subjects
// currently carrying at least one of the tags. Each distinct combination of
// tags carried by some subject is a tag set; every subject has at most one,
// so counting grants per tag set never counts a grant twice, whatever tags
// are asked for. Triggers keep, for every tag set, its grants
// (grant_tagsets) and their counts per block of 1024 grant IDs and per
// superblock of 65536, updated when a grant is added and when a subject's
// tag set changes (which moves only that subject's grants). A page is found
// by summing the superblock counts of the matching tag sets (N/65536 rows per
// tag set, which also gives the total), the block counts of the superblocks
// holding the page's two ends (at most 64 rows per tag set each), and one
// range query over the blocks holding the page (sorted only when several tag
// sets are merged). The cost does not grow with the offset; it grows with
// the number of matching tag sets, which is small when tags are used as
// intended (regions, teams, partners), and large if every subject carries a
// tag of its own besides the shared one.
//
// # Outbox
//
// Events get Seq = MAX + 1 (a plain rowid; a trigger refuses to delete the
// newest event, so a Seq is never handed out twice even once delivered
// events are pruned). There is no index on the events' subject: the outbox
// is read in Seq order, and an index costs every transition a page write;
// ListEvents by subject walks the events after AfterSeq. Registered sinks
// get a pending delivery for every new event from a trigger, in the event's
// transaction; the trigger's WHEN clause skips it while no sink is
// registered. ClaimDeliveries is one write transaction, so claimers in
// several processes never share a lease. It reads the pending deliveries
// of the 256 Seqs from the oldest pending one, and only when those hold
// fewer claimable heads than asked for does it visit each (sink, subject)
// with a pending delivery once (a skip scan over deliveries_pending), so a
// claim never walks a backlog queued behind leased heads. Each claim adds
// one to the delivery's fence, and UpdateDelivery writes only while the
// fence is the claimer's (a superseded claimer gets ErrConflict).
//
// # Idempotency keys
//
// ReserveIdempotency is one write transaction: an INSERT ... ON CONFLICT DO
// UPDATE that replaces only an expired record (ExpiresAt not after the new
// CreatedAt, the zero time being the earliest), and, when a live record
// holds the key, a read of it in the same transaction, returned with
// ErrConflict. The writer's lock makes one of several racing requests win,
// in this process or another. DeleteExpiredIdempotency deletes a batch
// chosen on the expires_at index.
//
// # Table prefix and migrations
//
// Options.TablePrefix (lowercase letters, digits and underscores) is
// prepended to every table, index and trigger, so the store can live in the
// host's own database file. The schema is in embedded, numbered migration
// files (migrations/NNNN_name.sql, with a {{prefix}} placeholder), applied on
// Open in one IMMEDIATE transaction and recorded in <prefix>schema_migrations.
// A database with a migration this package does not know fails with
// ErrSchemaTooNew. To change the schema, add the next numbered file; never
// edit a released one.
package sqlite
