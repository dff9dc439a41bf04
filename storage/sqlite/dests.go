package sqlite

import "sync"

// destPool reuses a read's scan destinations. Scan receives them as
// pointers through the rowSet and scanner interfaces, so the compiler moves
// every destination a read declares to the heap: on the read routes that
// was a third of a request's allocations and half of its bytes. A pooled
// set is wired once (dest points into v) and zeroed when it goes back, so
// no answer's values stay reachable from the pool.
type destPool[T any] struct {
	pool sync.Pool
	// wire returns the destinations of a statement's columns, in order,
	// as pointers into v.
	wire func(v *T) []any
}

// scanDest is one set of a pool's destinations: the values and the
// pointers to them that Scan takes.
type scanDest[T any] struct {
	v    T
	dest []any
}

// get returns a set whose values are zero.
func (p *destPool[T]) get() *scanDest[T] {
	if d, ok := p.pool.Get().(*scanDest[T]); ok {
		return d
	}
	d := new(scanDest[T])
	d.dest = p.wire(&d.v)
	return d
}

// put zeroes d's values and returns d to the pool; d must not be used
// afterwards.
func (p *destPool[T]) put(d *scanDest[T]) {
	var zero T
	d.v = zero
	p.pool.Put(d)
}
