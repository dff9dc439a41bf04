package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
)

// idemAt is the idempotency tests' reference time plus n minutes.
func idemAt(n int) time.Time {
	return time.Date(2024, time.March, 1, 9, 0, 0, 654321000, time.UTC).Add(time.Duration(n) * time.Minute)
}

func idemRec(scope, key, hash string, created, expires int) verification.IdempotencyRecord {
	return verification.IdempotencyRecord{Scope: scope, Key: key, RequestHash: hash, CreatedAt: idemAt(created), ExpiresAt: idemAt(expires)}
}

// openIdemStore opens a store on path (a fresh file when empty) with a
// table prefix, closed when the test ends.
func openIdemStore(t *testing.T, path string) *Store {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "kyc.db")
	}
	s, err := Open(t.Context(), path, Options{TablePrefix: "kyc_"})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// getIdem reads a record back from the table (a reservation would replace
// an expired one).
func getIdem(t *testing.T, s *Store, scope, key string) (verification.IdempotencyRecord, bool) {
	t.Helper()
	r, err := scanIdem(s.c.reader.QueryRowContext(t.Context(),
		withPrefix(`SELECT `+idemCols+` FROM {{prefix}}idempotency WHERE scope = ? AND key = ?`, s.c.prefix), scope, key))
	if errors.Is(err, sql.ErrNoRows) {
		return r, false
	}
	require.NoError(t, err)
	return r, true
}

func TestIdempotencyLifecycle(t *testing.T) {
	t.Parallel()
	s := openIdemStore(t, "")
	ctx := t.Context()

	// Reserve: stored in progress (Status 0), whatever the record says.
	first := idemRec("user:1 POST /a", "key-1", "hash-a", 0, 60)
	first.Status, first.ContentType, first.Body = 201, "text/plain", []byte("ignored")
	got, err := s.ReserveIdempotency(ctx, first)
	require.NoError(t, err)
	want := idemRec("user:1 POST /a", "key-1", "hash-a", 0, 60)
	require.Equal(t, want, got, "a reservation is in progress, without a response")
	stored, ok := getIdem(t, s, "user:1 POST /a", "key-1")
	require.True(t, ok)
	require.Equal(t, want, stored)

	// A live record holds the key: the caller gets it and ErrConflict.
	old, err := s.ReserveIdempotency(ctx, idemRec("user:1 POST /a", "key-1", "hash-b", 59, 120))
	require.ErrorIs(t, err, verification.ErrConflict)
	require.Equal(t, want, old, "the conflict returns the live record (its hash, in progress)")

	// Complete it; a repeat now sees the response.
	body := []byte{0x00, 0xff, '{', '"', 'a', '"', '}', 0x00}
	done := want
	done.Status, done.ContentType, done.Body = 201, "application/json", body
	done.RequestHash, done.CreatedAt, done.ExpiresAt = "not written", idemAt(30), idemAt(31)
	require.NoError(t, s.CompleteIdempotency(ctx, done))
	body[0] = 'x' // the store keeps its own copy
	old, err = s.ReserveIdempotency(ctx, idemRec("user:1 POST /a", "key-1", "hash-a", 1, 61))
	require.ErrorIs(t, err, verification.ErrConflict)
	want.Status, want.ContentType, want.Body = 201, "application/json", []byte{0x00, 0xff, '{', '"', 'a', '"', '}', 0x00}
	require.Equal(t, want, old, "CompleteIdempotency stores status, content type and body only")

	// Scope and key are exact, byte-wise.
	for _, k := range [][2]string{{"user:2 POST /a", "key-1"}, {"user:1 POST /a", "KEY-1"}, {"user:1 POST /a ", "key-1"}} {
		_, err := s.ReserveIdempotency(ctx, idemRec(k[0], k[1], "h", 0, 60))
		require.NoError(t, err, "scope %q key %q is another record", k[0], k[1])
	}

	// Expired (ExpiresAt not after the new CreatedAt): replaced, response dropped.
	got, err = s.ReserveIdempotency(ctx, idemRec("user:1 POST /a", "key-1", "hash-c", 60, 90))
	require.NoError(t, err, "a record whose ExpiresAt equals the new CreatedAt has expired")
	require.Equal(t, idemRec("user:1 POST /a", "key-1", "hash-c", 60, 90), got)
	stored, ok = getIdem(t, s, "user:1 POST /a", "key-1")
	require.True(t, ok)
	require.Equal(t, got, stored, "the replacement is stored without the old response")
	require.Nil(t, stored.Body)

	// An empty body reads back as nil; completing an unknown record fails.
	done = got
	done.Status, done.Body = 204, []byte{}
	require.NoError(t, s.CompleteIdempotency(ctx, done))
	stored, _ = getIdem(t, s, "user:1 POST /a", "key-1")
	require.Equal(t, 204, stored.Status)
	require.Nil(t, stored.Body)
	require.ErrorIs(t, s.CompleteIdempotency(ctx, idemRec("user:1 POST /a", "key-404", "", 0, 0)), verification.ErrNotFound)

	// Release frees the key at once; releasing an absent key is fine.
	require.NoError(t, s.ReleaseIdempotency(ctx, "user:1 POST /a", "key-1"))
	_, ok = getIdem(t, s, "user:1 POST /a", "key-1")
	require.False(t, ok)
	require.NoError(t, s.ReleaseIdempotency(ctx, "user:1 POST /a", "key-1"))
	_, err = s.ReserveIdempotency(ctx, idemRec("user:1 POST /a", "key-1", "hash-d", 61, 62))
	require.NoError(t, err, "a released key can be reserved again before its old expiry")

	// Zero times are the earliest: a record without ExpiresAt is expired.
	_, err = s.ReserveIdempotency(ctx, verification.IdempotencyRecord{Scope: "z", Key: "k", RequestHash: "1"})
	require.NoError(t, err)
	got, err = s.ReserveIdempotency(ctx, verification.IdempotencyRecord{Scope: "z", Key: "k", RequestHash: "2"})
	require.NoError(t, err, "zero ExpiresAt is not after a zero CreatedAt")
	require.Equal(t, "2", got.RequestHash)
	_, err = s.ReserveIdempotency(ctx, verification.IdempotencyRecord{Scope: "z", Key: "live", ExpiresAt: idemAt(0)})
	require.NoError(t, err)
	_, err = s.ReserveIdempotency(ctx, verification.IdempotencyRecord{Scope: "z", Key: "live"})
	require.ErrorIs(t, err, verification.ErrConflict, "any ExpiresAt is after a zero CreatedAt")
	// Times before 1970 (negative microseconds) still come after the zero time.
	pre := verification.IdempotencyRecord{Scope: "z", Key: "1960", CreatedAt: time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)}
	pre.ExpiresAt = pre.CreatedAt.Add(time.Hour)
	got, err = s.ReserveIdempotency(ctx, pre)
	require.NoError(t, err)
	require.Equal(t, pre, got)
	_, err = s.ReserveIdempotency(ctx, verification.IdempotencyRecord{Scope: "z", Key: "1960"})
	require.ErrorIs(t, err, verification.ErrConflict, "an ExpiresAt before 1970 is after a zero CreatedAt")
}

func TestIdempotencyDeleteExpired(t *testing.T) {
	t.Parallel()
	s := openIdemStore(t, "")
	ctx := t.Context()
	for i := range 7 {
		_, err := s.ReserveIdempotency(ctx, idemRec("s", fmt.Sprint("k", i), "h", 0, 10*i))
		require.NoError(t, err)
	}
	_, err := s.ReserveIdempotency(ctx, verification.IdempotencyRecord{Scope: "s", Key: "no-expiry"})
	require.NoError(t, err)

	n, err := s.DeleteExpiredIdempotency(ctx, idemAt(30), 0)
	require.NoError(t, err)
	require.Zero(t, n, "limit 0 deletes nothing")
	n, err = s.DeleteExpiredIdempotency(ctx, time.Time{}, 10)
	require.NoError(t, err)
	require.Equal(t, 1, n, "before the zero time: only the record without ExpiresAt")
	_, ok := getIdem(t, s, "s", "no-expiry")
	require.False(t, ok, "a record without ExpiresAt counts as expired")
	_, err = s.ReserveIdempotency(ctx, verification.IdempotencyRecord{Scope: "s", Key: "no-expiry"})
	require.NoError(t, err)

	// Expired at idemAt(30): k0, k1, k2, k3 (ExpiresAt not after it) and no-expiry.
	n, err = s.DeleteExpiredIdempotency(ctx, idemAt(30), 3)
	require.NoError(t, err)
	require.Equal(t, 3, n, "at most limit")
	n, err = s.DeleteExpiredIdempotency(ctx, idemAt(30), 3)
	require.NoError(t, err)
	require.Equal(t, 2, n, "the rest of the expired records")
	n, err = s.DeleteExpiredIdempotency(ctx, idemAt(30), 3)
	require.NoError(t, err)
	require.Zero(t, n)
	for i := range 7 {
		_, ok := getIdem(t, s, "s", fmt.Sprint("k", i))
		require.Equal(t, i > 3, ok, "k%d (expires at minute %d) kept only if after minute 30", i, 10*i)
	}
	_, ok = getIdem(t, s, "s", "no-expiry")
	require.False(t, ok, "a record without ExpiresAt counts as expired")

	// Rolled back with the transaction, like every write.
	err = s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
		n, err := tx.(verification.IdempotencyStore).DeleteExpiredIdempotency(ctx, idemAt(1000), 10)
		require.NoError(t, err)
		require.Equal(t, 3, n)
		return errIdemRollback
	})
	require.ErrorIs(t, err, errIdemRollback)
	for i := 4; i < 7; i++ {
		_, ok := getIdem(t, s, "s", fmt.Sprint("k", i))
		require.True(t, ok)
	}
}

var errIdemRollback = errors.New("roll back")

func TestIdempotencyInTx(t *testing.T) {
	t.Parallel()
	s := openIdemStore(t, "")
	ctx := t.Context()
	_, err := s.ReserveIdempotency(ctx, idemRec("s", "held", "h", 0, 60))
	require.NoError(t, err)

	err = s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
		is := tx.(verification.IdempotencyStore)
		_, err := is.ReserveIdempotency(ctx, idemRec("s", "new", "h", 0, 60))
		require.NoError(t, err)
		old, err := is.ReserveIdempotency(ctx, idemRec("s", "held", "other", 1, 61))
		require.ErrorIs(t, err, verification.ErrConflict)
		require.Equal(t, "h", old.RequestHash)
		require.NoError(t, is.CompleteIdempotency(ctx, verification.IdempotencyRecord{Scope: "s", Key: "held", Status: 200}))
		require.NoError(t, is.ReleaseIdempotency(ctx, "s", "new"))
		_, err = is.ReserveIdempotency(ctx, idemRec("s", "new", "h2", 0, 60))
		require.NoError(t, err)
		// The conflict did not abort the transaction.
		sub := verification.Subject{Identifier: "intx00000000000000000000000000000000"}
		require.NoError(t, tx.CreateSubject(ctx, &sub))
		return errIdemRollback
	})
	require.ErrorIs(t, err, errIdemRollback)
	_, ok := getIdem(t, s, "s", "new")
	require.False(t, ok, "a reservation made in a rolled-back transaction is gone")
	held, ok := getIdem(t, s, "s", "held")
	require.True(t, ok)
	require.Zero(t, held.Status, "a completion made in a rolled-back transaction is gone")

	dead, cancel := context.WithCancel(ctx)
	cancel()
	_, err = s.ReserveIdempotency(dead, idemRec("s", "x", "h", 0, 60))
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, s.CompleteIdempotency(dead, idemRec("s", "held", "h", 0, 60)), context.Canceled)
	require.ErrorIs(t, s.ReleaseIdempotency(dead, "s", "held"), context.Canceled)
	_, err = s.DeleteExpiredIdempotency(dead, idemAt(100), 10)
	require.ErrorIs(t, err, context.Canceled)
	_, ok = getIdem(t, s, "s", "held")
	require.True(t, ok, "calls with a cancelled context write nothing")
	_, ok = getIdem(t, s, "s", "x")
	require.False(t, ok)
}

// TestIdempotencyConcurrentReserve races 16 requests (on two Stores on one
// file, as two processes would) for one key, on a fresh key and on an
// expired record, many times: each time exactly one wins, and every loser
// gets the winner's record with ErrConflict.
func TestIdempotencyConcurrentReserve(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "kyc.db")
	first := openIdemStore(t, path)
	stores := []*Store{first, openIdemStore(t, path)}
	ctx := t.Context()
	const racers, rounds = 16, 25
	for round := range rounds {
		key := fmt.Sprint("key-", round)
		created := 0
		if round%2 == 1 {
			// Odd rounds race to replace an expired record.
			_, err := stores[0].ReserveIdempotency(ctx, idemRec("s", key, "stale", 0, 5))
			require.NoError(t, err)
			created = 10
		}
		var (
			wg      sync.WaitGroup
			start   = make(chan struct{})
			results = make([]verification.IdempotencyRecord, racers)
			errs    = make([]error, racers)
		)
		for i := range racers {
			wg.Go(func() {
				<-start
				results[i], errs[i] = stores[i%2].ReserveIdempotency(ctx, idemRec("s", key, fmt.Sprint("racer-", i), created, created+60))
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, err := range errs {
			if err == nil {
				require.Equal(t, -1, winner, "round %d: racers %d and %d both reserved %s", round, winner, i, key)
				winner = i
				continue
			}
			require.ErrorIs(t, err, verification.ErrConflict, "round %d racer %d", round, i)
		}
		require.NotEqual(t, -1, winner, "round %d: nobody reserved %s", round, key)
		stored, ok := getIdem(t, stores[0], "s", key)
		require.True(t, ok)
		require.Equal(t, fmt.Sprint("racer-", winner), stored.RequestHash, "round %d: the stored record is the winner's", round)
		require.Equal(t, stored, results[winner])
		for i, err := range errs {
			if err != nil {
				require.Equal(t, stored, results[i], "round %d: racer %d must get the winner's record", round, i)
			}
		}
	}
}
