package storagetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
)

// RunIdempotency checks the verification.IdempotencyStore capability, which
// every store of this module implements. Records are observed through the
// contract alone: a conflicting reservation returns the live record, a
// successful one proves the key was free.
func RunIdempotency(t *testing.T, newStore func(t *testing.T) verification.Store) {
	t.Helper()
	idem := func(t *testing.T, s verification.Store) verification.IdempotencyStore {
		t.Helper()
		return s // IdempotencyStore is part of verification.Store
	}

	test(t, newStore, "IdempotencyLifecycle", func(t *testing.T, s verification.Store) {
		is, ctx := idem(t, s), t.Context()

		// Reserve: stored in progress (Status 0), whatever the record says.
		first := idemRec("user:1 POST /a", "key-1", "hash-a", 0, 60)
		first.Status, first.ContentType, first.Body = 201, "text/plain", []byte("ignored")
		got, err := is.ReserveIdempotency(ctx, first)
		require.NoError(t, err)
		want := idemRec("user:1 POST /a", "key-1", "hash-a", 0, 60)
		require.Equal(t, want, got, "a reservation is in progress, without a response")

		// A live record holds the key: the caller gets it and ErrConflict.
		old, err := is.ReserveIdempotency(ctx, idemRec("user:1 POST /a", "key-1", "hash-b", 59, 120))
		require.ErrorIs(t, err, verification.ErrConflict)
		require.Equal(t, want, old, "the conflict returns the live record (its hash, in progress)")

		// Complete it; a repeat now sees the response.
		body := []byte{0x00, 0xff, '{', '"', 'a', '"', '}', 0x00}
		done := want
		done.Status, done.ContentType, done.Body = 201, "application/json", body
		done.RequestHash, done.CreatedAt, done.ExpiresAt = "not written", at(30), at(31)
		require.NoError(t, is.CompleteIdempotency(ctx, done))
		body[0] = 'x' // the store keeps its own copy
		old, err = is.ReserveIdempotency(ctx, idemRec("user:1 POST /a", "key-1", "hash-a", 1, 61))
		require.ErrorIs(t, err, verification.ErrConflict)
		want.Status, want.ContentType, want.Body = 201, "application/json", []byte{0x00, 0xff, '{', '"', 'a', '"', '}', 0x00}
		require.Equal(t, want, old, "CompleteIdempotency stores status, content type and body only")

		// Scope and key are exact, byte-wise.
		for _, k := range [][2]string{{"user:2 POST /a", "key-1"}, {"user:1 POST /a", "KEY-1"}, {"user:1 POST /a ", "key-1"}} {
			_, err := is.ReserveIdempotency(ctx, idemRec(k[0], k[1], "h", 0, 60))
			require.NoError(t, err, "scope %q key %q is another record", k[0], k[1])
		}

		// Expired (ExpiresAt not after the new CreatedAt): replaced, response dropped.
		got, err = is.ReserveIdempotency(ctx, idemRec("user:1 POST /a", "key-1", "hash-c", 60, 90))
		require.NoError(t, err, "a record whose ExpiresAt equals the new CreatedAt has expired")
		require.Equal(t, idemRec("user:1 POST /a", "key-1", "hash-c", 60, 90), got)
		stored, err := is.ReserveIdempotency(ctx, idemRec("user:1 POST /a", "key-1", "probe", 61, 62))
		require.ErrorIs(t, err, verification.ErrConflict)
		require.Equal(t, got, stored, "the replacement is stored without the old response")
		require.Nil(t, stored.Body)

		// An empty body reads back as nil; completing an unknown record fails.
		done = got
		done.Status, done.Body = 204, []byte{}
		require.NoError(t, is.CompleteIdempotency(ctx, done))
		stored, err = is.ReserveIdempotency(ctx, idemRec("user:1 POST /a", "key-1", "probe", 61, 62))
		require.ErrorIs(t, err, verification.ErrConflict)
		require.Equal(t, 204, stored.Status)
		require.Nil(t, stored.Body)
		require.ErrorIs(t, is.CompleteIdempotency(ctx, idemRec("user:1 POST /a", "key-404", "", 0, 0)), verification.ErrNotFound)

		// Release frees the key at once; releasing an absent key is fine.
		require.NoError(t, is.ReleaseIdempotency(ctx, "user:1 POST /a", "key-1"))
		require.NoError(t, is.ReleaseIdempotency(ctx, "user:1 POST /a", "key-1"))
		_, err = is.ReserveIdempotency(ctx, idemRec("user:1 POST /a", "key-1", "hash-d", 61, 62))
		require.NoError(t, err, "a released key can be reserved again before its old expiry")

		// Zero times are the earliest: a record without ExpiresAt is expired.
		_, err = is.ReserveIdempotency(ctx, verification.IdempotencyRecord{Scope: "z", Key: "k", RequestHash: "1"})
		require.NoError(t, err)
		got, err = is.ReserveIdempotency(ctx, verification.IdempotencyRecord{Scope: "z", Key: "k", RequestHash: "2"})
		require.NoError(t, err, "zero ExpiresAt is not after a zero CreatedAt")
		require.Equal(t, "2", got.RequestHash)
		_, err = is.ReserveIdempotency(ctx, verification.IdempotencyRecord{Scope: "z", Key: "live", ExpiresAt: at(0)})
		require.NoError(t, err)
		_, err = is.ReserveIdempotency(ctx, verification.IdempotencyRecord{Scope: "z", Key: "live"})
		require.ErrorIs(t, err, verification.ErrConflict, "any ExpiresAt is after a zero CreatedAt")
		// Times before 1970 still come after the zero time.
		pre := verification.IdempotencyRecord{Scope: "z", Key: "1960", CreatedAt: time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)}
		pre.ExpiresAt = pre.CreatedAt.Add(time.Hour)
		got, err = is.ReserveIdempotency(ctx, pre)
		require.NoError(t, err)
		require.Equal(t, pre, got)
		_, err = is.ReserveIdempotency(ctx, verification.IdempotencyRecord{Scope: "z", Key: "1960"})
		require.ErrorIs(t, err, verification.ErrConflict, "an ExpiresAt before 1970 is after a zero CreatedAt")
	})

	test(t, newStore, "IdempotencyDeleteExpired", func(t *testing.T, s verification.Store) {
		is, ctx := idem(t, s), t.Context()
		// live reports whether (s, key) still holds a record: a reservation
		// created long before every record conflicts with any that exists;
		// when it succeeds, the probe is released again.
		live := func(key string) bool {
			t.Helper()
			_, err := is.ReserveIdempotency(ctx, idemRec("s", key, "probe", -1000, -999))
			if errors.Is(err, verification.ErrConflict) {
				return true
			}
			require.NoError(t, err)
			require.NoError(t, is.ReleaseIdempotency(ctx, "s", key))
			return false
		}
		for i := range 7 {
			_, err := is.ReserveIdempotency(ctx, idemRec("s", fmt.Sprint("k", i), "h", 0, 10*i))
			require.NoError(t, err)
		}
		_, err := is.ReserveIdempotency(ctx, verification.IdempotencyRecord{Scope: "s", Key: "no-expiry"})
		require.NoError(t, err)

		n, err := is.DeleteExpiredIdempotency(ctx, at(30), 0)
		require.NoError(t, err)
		require.Zero(t, n, "limit 0 deletes nothing")
		n, err = is.DeleteExpiredIdempotency(ctx, time.Time{}, 10)
		require.NoError(t, err)
		require.Equal(t, 1, n, "before the zero time: only the record without ExpiresAt")
		_, err = is.ReserveIdempotency(ctx, verification.IdempotencyRecord{Scope: "s", Key: "no-expiry"})
		require.NoError(t, err)

		// Expired at minute 30: k0, k1, k2, k3 (ExpiresAt not after it) and no-expiry.
		n, err = is.DeleteExpiredIdempotency(ctx, at(30), 3)
		require.NoError(t, err)
		require.Equal(t, 3, n, "at most limit")
		n, err = is.DeleteExpiredIdempotency(ctx, at(30), 3)
		require.NoError(t, err)
		require.Equal(t, 2, n, "the rest of the expired records")
		n, err = is.DeleteExpiredIdempotency(ctx, at(30), 3)
		require.NoError(t, err)
		require.Zero(t, n)
		for i := range 7 {
			require.Equal(t, i > 3, live(fmt.Sprint("k", i)), "k%d (expires at minute %d) kept only if after minute 30", i, 10*i)
		}

		// Rolled back with the transaction, like every write.
		errRollback := errors.New("roll back")
		err = s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			n, err := tx.DeleteExpiredIdempotency(ctx, at(1000), 10)
			require.NoError(t, err)
			require.Equal(t, 3, n)
			return errRollback
		})
		require.ErrorIs(t, err, errRollback)
		for i := 4; i < 7; i++ {
			require.True(t, live(fmt.Sprint("k", i)))
		}
	})

	test(t, newStore, "IdempotencyInTx", func(t *testing.T, s verification.Store) {
		is, ctx := idem(t, s), t.Context()
		_, err := is.ReserveIdempotency(ctx, idemRec("s", "held", "h", 0, 60))
		require.NoError(t, err)

		errRollback := errors.New("roll back")
		err = s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			txi := verification.IdempotencyStore(tx)
			_, err := txi.ReserveIdempotency(ctx, idemRec("s", "new", "h", 0, 60))
			require.NoError(t, err)
			old, err := txi.ReserveIdempotency(ctx, idemRec("s", "held", "other", 1, 61))
			require.ErrorIs(t, err, verification.ErrConflict)
			require.Equal(t, "h", old.RequestHash)
			require.NoError(t, txi.CompleteIdempotency(ctx, verification.IdempotencyRecord{Scope: "s", Key: "held", Status: 200}))
			require.NoError(t, txi.ReleaseIdempotency(ctx, "s", "new"))
			_, err = txi.ReserveIdempotency(ctx, idemRec("s", "new", "h2", 0, 60))
			require.NoError(t, err)
			// The conflict did not abort the transaction.
			sub := verification.Subject{Identifier: ident("intx")}
			require.NoError(t, tx.CreateSubject(ctx, &sub))
			return errRollback
		})
		require.ErrorIs(t, err, errRollback)
		held, err := is.ReserveIdempotency(ctx, idemRec("s", "held", "probe", 2, 3))
		require.ErrorIs(t, err, verification.ErrConflict)
		require.Zero(t, held.Status, "a completion made in a rolled-back transaction is gone")
		_, err = is.ReserveIdempotency(ctx, idemRec("s", "new", "after", 2, 3))
		require.NoError(t, err, "a reservation made in a rolled-back transaction is gone")

		dead := cancelledContext(t)
		_, err = is.ReserveIdempotency(dead, idemRec("s", "x", "h", 0, 60))
		require.ErrorIs(t, err, context.Canceled)
		require.ErrorIs(t, is.CompleteIdempotency(dead, idemRec("s", "held", "h", 0, 60)), context.Canceled)
		require.ErrorIs(t, is.ReleaseIdempotency(dead, "s", "held"), context.Canceled)
		_, err = is.DeleteExpiredIdempotency(dead, at(100), 10)
		require.ErrorIs(t, err, context.Canceled)
		_, err = is.ReserveIdempotency(ctx, idemRec("s", "held", "probe", 2, 3))
		require.ErrorIs(t, err, verification.ErrConflict, "calls with a cancelled context write nothing")
		_, err = is.ReserveIdempotency(ctx, idemRec("s", "x", "after", 2, 3))
		require.NoError(t, err, "calls with a cancelled context write nothing")
	})

	test(t, newStore, "IdempotencyConcurrentReserve", func(t *testing.T, s verification.Store) {
		RaceIdempotencyReserve(t, idem(t, s))
	})
}

// RaceIdempotencyReserve races 16 reservations of one key, spread over
// stores (pass two Stores on one database to check it across processes), on
// a fresh key and on an expired record, 25 times: each time exactly one wins
// and every loser gets the winner's record with ErrConflict.
func RaceIdempotencyReserve(t *testing.T, stores ...verification.IdempotencyStore) {
	t.Helper()
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
				results[i], errs[i] = stores[i%len(stores)].ReserveIdempotency(ctx, idemRec("s", key, fmt.Sprint("racer-", i), created, created+60))
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
		stored, err := stores[0].ReserveIdempotency(ctx, idemRec("s", key, "probe", created+1, created+2))
		require.ErrorIs(t, err, verification.ErrConflict)
		require.Equal(t, fmt.Sprint("racer-", winner), stored.RequestHash, "round %d: the stored record is the winner's", round)
		require.Equal(t, stored, results[winner])
		for i, err := range errs {
			if err != nil {
				require.Equal(t, stored, results[i], "round %d: racer %d must get the winner's record", round, i)
			}
		}
	}
}

func idemRec(scope, key, hash string, created, expires int) verification.IdempotencyRecord {
	return verification.IdempotencyRecord{Scope: scope, Key: key, RequestHash: hash, CreatedAt: at(created), ExpiresAt: at(expires)}
}
