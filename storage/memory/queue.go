package memory

import (
	"container/heap"
	"slices"
	"strings"
)

// pendingQueue indexes the pending deliveries for ClaimDeliveries, so that a
// claim costs the same with 100 or 100,000 deliveries pending: per (sink,
// subject), the Seqs of its pending deliveries in order; and a heap, in
// (Seq, sink) order, of the head of each (sink, subject) (its oldest pending
// delivery, the only one a claim may take). A claim pops heads in order
// until it has enough due ones and pushes them all back: it costs
// O((limit + heads not due ahead of them) log heads). It is kept by add and
// remove, which the store calls (and undoes) where a delivery becomes
// pending or stops being pending.
type pendingQueue struct {
	groups map[group][]int64
	heads  headHeap
}

// group is one (sink, subject): its deliveries go out one at a time, in
// Seq order.
type group struct {
	sink    string
	subject int64
}

func newPendingQueue() *pendingQueue {
	return &pendingQueue{groups: map[group][]int64{}, heads: headHeap{pos: map[deliveryKey]int{}}}
}

// add records that the delivery k of subject is pending.
func (q *pendingQueue) add(k deliveryKey, subject int64) {
	g := group{k.sink, subject}
	seqs := q.groups[g]
	i, found := slices.BinarySearch(seqs, k.seq)
	if found {
		return
	}
	if len(seqs) > 0 && i == 0 {
		heap.Remove(&q.heads, q.heads.pos[deliveryKey{seqs[0], k.sink}])
	}
	q.groups[g] = slices.Insert(seqs, i, k.seq)
	if i == 0 {
		heap.Push(&q.heads, head{deliveryKey: k, subject: subject})
	}
}

// remove records that the delivery k of subject is no longer pending.
func (q *pendingQueue) remove(k deliveryKey, subject int64) {
	g := group{k.sink, subject}
	seqs := q.groups[g]
	i, found := slices.BinarySearch(seqs, k.seq)
	if !found {
		return
	}
	seqs = slices.Delete(seqs, i, i+1)
	if len(seqs) == 0 {
		delete(q.groups, g)
	} else {
		q.groups[g] = seqs
	}
	if i == 0 {
		heap.Remove(&q.heads, q.heads.pos[k])
		if len(seqs) > 0 {
			heap.Push(&q.heads, head{deliveryKey: deliveryKey{seqs[0], k.sink}, subject: subject})
		}
	}
}

// walk calls take with the heads in (Seq, sink) order until it returns
// false or every head was seen; the heads are left as they were.
func (q *pendingQueue) walk(take func(k deliveryKey) bool) {
	var popped []head
	for q.heads.Len() > 0 {
		h := heap.Pop(&q.heads).(head)
		popped = append(popped, h)
		if !take(h.deliveryKey) {
			break
		}
	}
	for _, h := range popped {
		heap.Push(&q.heads, h)
	}
}

// head is the oldest pending delivery of one (sink, subject).
type head struct {
	deliveryKey
	subject int64
}

// headHeap is a container/heap of heads in (Seq, sink) order that knows
// where each head is (for heap.Remove).
type headHeap struct {
	items []head
	pos   map[deliveryKey]int
}

func (h *headHeap) Len() int { return len(h.items) }
func (h *headHeap) Less(i, j int) bool {
	a, b := h.items[i], h.items[j]
	if a.seq != b.seq {
		return a.seq < b.seq
	}
	return strings.Compare(a.sink, b.sink) < 0
}
func (h *headHeap) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.pos[h.items[i].deliveryKey] = i
	h.pos[h.items[j].deliveryKey] = j
}
func (h *headHeap) Push(x any) {
	it := x.(head)
	h.pos[it.deliveryKey] = len(h.items)
	h.items = append(h.items, it)
}
func (h *headHeap) Pop() any {
	it := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	delete(h.pos, it.deliveryKey)
	return it
}
