package scan

import (
	"container/heap"
	"sort"
	"time"
)

// A stream is one input file seen as a sequence of items in roughly
// ascending time. run pushes every item to emit and returns the reader's
// error; first is the time of its earliest item, found by a cheap look at
// the head of the file, and orders the lazy start of streams.
type stream[T any] struct {
	name  string
	first time.Time
	run   func(emit func(*T)) error
}

// batchSize bounds how many items a stream's reader runs ahead of the
// merge; it keeps the hand-off between goroutines cheap without letting a
// sparse file leap far ahead in time.
const batchSize = 512

type batch[T any] struct {
	items []T
	err   error
	done  bool
}

type active[T any] struct {
	s     *stream[T]
	ch    chan batch[T]
	cur   []T
	idx   int
	at    time.Time // time of cur[idx]
	order int       // start order, breaks ties so the merge is deterministic
}

type activeHeap[T any] []*active[T]

func (h activeHeap[T]) Len() int { return len(h) }
func (h activeHeap[T]) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].order < h[j].order
}
func (h activeHeap[T]) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *activeHeap[T]) Push(x any)   { *h = append(*h, x.(*active[T])) }
func (h *activeHeap[T]) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// merge delivers the items of all streams to deliver in ascending time, as
// far as each stream's own order allows: it is a k-way merge on the current
// item of each stream. Streams are started lazily, in order of their first
// item, once the merge reaches that time less lookahead, so only the files
// that overlap in time are open at once. Because the order of delivery
// depends only on item times and the streams' sorted start order, the
// result does not depend on the order in which files were named.
//
// onErr is called once for each stream whose reader failed; the merge goes
// on with the others.
func merge[T any](streams []*stream[T], lookahead time.Duration, timeOf func(*T) time.Time, deliver func(*T), onErr func(name string, err error)) {
	sorted := make([]*stream[T], len(streams))
	copy(sorted, streams)
	sort.SliceStable(sorted, func(i, j int) bool {
		if !sorted[i].first.Equal(sorted[j].first) {
			return sorted[i].first.Before(sorted[j].first)
		}
		return sorted[i].name < sorted[j].name
	})

	free := make(chan []T, 64)
	getBuf := func() []T {
		select {
		case b := <-free:
			return b[:0]
		default:
			return make([]T, 0, batchSize)
		}
	}
	putBuf := func(b []T) {
		select {
		case free <- b:
		default:
		}
	}

	start := func(s *stream[T], order int) *active[T] {
		a := &active[T]{s: s, ch: make(chan batch[T], 1), order: order}
		go func() {
			buf := getBuf()
			err := s.run(func(it *T) {
				buf = append(buf, *it)
				if len(buf) == batchSize {
					a.ch <- batch[T]{items: buf}
					buf = getBuf()
				}
			})
			if len(buf) > 0 {
				a.ch <- batch[T]{items: buf}
			}
			a.ch <- batch[T]{err: err, done: true}
			close(a.ch)
		}()
		return a
	}
	// advance loads the next item of a into a.at; it reports false when
	// the stream is exhausted.
	advance := func(a *active[T]) bool {
		for a.idx >= len(a.cur) {
			if a.cur != nil {
				putBuf(a.cur)
				a.cur = nil
			}
			b, ok := <-a.ch
			if !ok {
				return false
			}
			if b.done {
				if b.err != nil && onErr != nil {
					onErr(a.s.name, b.err)
				}
				continue
			}
			a.cur, a.idx = b.items, 0
		}
		a.at = timeOf(&a.cur[a.idx])
		return true
	}

	h := &activeHeap[T]{}
	next := 0
	startDue := func() {
		for next < len(sorted) {
			if h.Len() > 0 && sorted[next].first.After((*h)[0].at.Add(lookahead)) {
				return
			}
			a := start(sorted[next], next)
			next++
			if advance(a) {
				heap.Push(h, a)
			}
		}
	}
	startDue()
	for h.Len() > 0 {
		a := (*h)[0]
		deliver(&a.cur[a.idx])
		a.idx++
		if advance(a) {
			heap.Fix(h, 0)
		} else {
			heap.Pop(h)
		}
		if next < len(sorted) {
			startDue()
		}
	}
}
