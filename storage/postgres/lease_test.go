package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
)

// skewLog is a receiver shared by the sinks of two dispatchers: it records
// every call in arrival order and refuses the calls for which fail says so.
type skewLog struct {
	mu    sync.Mutex
	calls map[int64][]int64 // subject -> Seqs in arrival order
	acked map[string]bool
	by    map[string]int
}

func (l *skewLog) sink(name, who string, fail func(e verification.Event, who string) bool) verification.Sink {
	return verification.SubscriberFunc(name, func(ctx context.Context, e verification.Event) error {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.calls[e.SubjectID] = append(l.calls[e.SubjectID], e.Seq)
		l.by[who]++
		if fail(e, who) {
			return errors.New("answered 500")
		}
		l.acked[e.ID] = true
		return nil
	})
}

// TestDispatchersWithSkewedClocksKeepOrder runs two dispatchers on two
// pools whose clocks are 70 s apart, more than Lease minus Timeout (60 s
// and 30 s, the defaults): the one ahead sees every lease the other takes
// as expired and takes the delivery over at once, so both deliver the same
// event at the same time. Prompt receivers that sometimes answer 500 make
// the one behind record failures for events the other already delivered.
// Fenced updates keep every stale outcome out: no delivered event goes
// back to pending, and per subject the receiver never sees an event after
// a later one ([B:E1 B:E2 A:E1] without fencing).
func TestDispatchersWithSkewedClocksKeepOrder(t *testing.T) {
	t.Parallel()
	const subjects, perSubject, skew = 20, 6, 70 * time.Second
	schema := newSchema(t)
	stores := map[string]*Store{"A": openOwnPool(t, schema), "B": openOwnPool(t, schema)}
	ctx := ctxTimeout(t)
	log := &skewLog{calls: map[int64][]int64{}, acked: map[string]bool{}, by: map[string]int{}}
	// The receiver refuses the first call of each dispatcher for half of
	// the events (chosen by a hash, so never twice for one pair).
	tried := map[string]bool{}
	fail := func(e verification.Event, who string) bool {
		if tried[e.ID+who] {
			return false
		}
		tried[e.ID+who] = true
		h := fnv.New32a()
		_, _ = fmt.Fprint(h, e.ID, who)
		return h.Sum32()%2 == 0
	}
	dispatchers := map[string]*verification.Dispatcher{}
	for who, s := range stores {
		offset := time.Duration(0)
		if who == "B" {
			offset = skew
		}
		d, err := verification.NewDispatcher(s, verification.DispatcherOptions{
			Sinks:        []verification.Sink{log.sink("audit", who, fail)},
			NowFunc:      func() time.Time { return time.Now().Add(offset) },
			PollInterval: 5 * time.Millisecond,
			BackoffBase:  time.Millisecond,
			BackoffMax:   5 * time.Millisecond,
			Lease:        time.Minute,
			Timeout:      30 * time.Second,
		})
		require.NoError(t, err)
		require.NoError(t, d.Register(ctx))
		dispatchers[who] = d
	}

	// Watch the store: a delivery seen delivered must never be seen pending.
	watchCtx, stopWatch := context.WithCancel(ctx)
	var (
		watched   sync.WaitGroup
		wentBack  []string
		delivered = map[string]bool{}
	)
	watched.Go(func() {
		for watchCtx.Err() == nil {
			gotPage, err := stores["A"].ListDeliveries(watchCtx, verification.DeliveryFilter{Limit: subjects * perSubject})
			got := gotPage.Items
			if err != nil {
				continue
			}
			for _, d := range got {
				switch {
				case d.Status == verification.DeliveryDelivered:
					delivered[d.Event.ID] = true
				case delivered[d.Event.ID]:
					wentBack = append(wentBack, d.Event.ID)
				}
			}
			time.Sleep(2 * time.Millisecond)
		}
	})

	runCtx, stop := context.WithCancel(ctx)
	var running sync.WaitGroup
	for _, d := range dispatchers {
		running.Go(func() {
			if err := d.Run(runCtx); err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	defer func() {
		stop()
		running.Wait()
		stopWatch()
		watched.Wait()
	}()

	subs := make([]verification.Subject, subjects)
	for i := range subs {
		subs[i] = newSubject(t, stores["A"], fmt.Sprintf("skew%02d", i))
	}
	var ids []string
	for n := range perSubject {
		for i, sub := range subs {
			id := fmt.Sprintf("ev-%02d-%02d", i, n)
			require.NoError(t, emit(ctx, stores["A"], sub.ID, id, time.Now().UTC().Truncate(time.Microsecond)))
			ids = append(ids, id)
			for _, d := range dispatchers {
				d.Notify()
			}
		}
	}

	require.Eventually(t, func() bool {
		nPage, err := stores["B"].ListDeliveries(ctx, verification.DeliveryFilter{Status: verification.DeliveryDelivered})
		n := nPage.Total
		return err == nil && n == len(ids)
	}, 20*time.Second, 10*time.Millisecond, "every delivery recorded delivered")
	time.Sleep(100 * time.Millisecond) // let any stale outcome land
	stop()
	running.Wait()
	time.Sleep(10 * time.Millisecond)
	stopWatch()
	watched.Wait()

	require.Empty(t, wentBack, "delivered events that went back to pending")
	log.mu.Lock()
	defer log.mu.Unlock()
	t.Logf("calls per dispatcher: %v", log.by)
	require.Positive(t, log.by["A"], "the dispatcher behind takes part")
	require.Positive(t, log.by["B"], "the dispatcher ahead takes part")
	for _, id := range ids {
		require.True(t, log.acked[id], "event %s acknowledged", id)
	}
	for sub, seqs := range log.calls {
		for i := 1; i < len(seqs); i++ {
			require.LessOrEqual(t, seqs[i-1], seqs[i], "subject %d: the receiver saw an event after a later one: %v", sub, seqs)
		}
	}
	page, err := stores["A"].ListDeliveries(ctx, verification.DeliveryFilter{Limit: len(ids)})
	got, total := page.Items, page.Total
	require.NoError(t, err)
	require.Equal(t, len(ids), total)
	for _, d := range got {
		require.Equal(t, verification.DeliveryDelivered, d.Status, "%s after shutdown", d.Event.ID)
	}
}
