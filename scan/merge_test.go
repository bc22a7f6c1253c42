package scan

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type item struct {
	t   time.Time
	src string
}

func mkStream(name string, times []time.Time, err error) *stream[item] {
	first := time.Time{}
	if len(times) > 0 {
		first = times[0]
	}
	return &stream[item]{name: name, first: first, run: func(emit func(*item)) error {
		for _, t := range times {
			it := item{t: t, src: name}
			emit(&it)
		}
		return err
	}}
}

func TestMergeOrdersAcrossStreamsWhateverTheArgumentOrder(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := rand.New(rand.NewPCG(1, 2))
	var streams []*stream[item]
	for s := 0; s < 7; s++ {
		var times []time.Time
		at := base.Add(time.Duration(r.IntN(3600)) * time.Second)
		for i := 0; i < 2000; i++ {
			at = at.Add(time.Duration(r.IntN(120)) * time.Second)
			times = append(times, at)
		}
		streams = append(streams, mkStream(fmt.Sprintf("s%d", s), times, nil))
	}
	run := func(ss []*stream[item]) []item {
		var out []item
		merge(ss, time.Hour, func(it *item) time.Time { return it.t }, func(it *item) { out = append(out, *it) }, nil)
		return out
	}
	want := run(streams)
	if len(want) != 7*2000 {
		t.Fatalf("got %d items, want %d", len(want), 7*2000)
	}
	for i := 1; i < len(want); i++ {
		if want[i].t.Before(want[i-1].t) {
			t.Fatalf("item %d out of order: %v after %v", i, want[i].t, want[i-1].t)
		}
	}
	for trial := 0; trial < 5; trial++ {
		shuffled := append([]*stream[item](nil), streams...)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		got := run(shuffled)
		if diff := cmp.Diff(want, got, cmp.AllowUnexported(item{})); diff != "" {
			t.Fatalf("merge depends on argument order (-want +got):\n%s", diff)
		}
	}
}

func TestMergeReportsReaderErrorsAndKeepsGoing(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	boom := errors.New("boom")
	var failed []string
	n := 0
	merge([]*stream[item]{
		mkStream("bad", []time.Time{base}, boom),
		mkStream("good", []time.Time{base.Add(time.Minute), base.Add(2 * time.Minute)}, nil),
		mkStream("empty", nil, nil),
	}, time.Hour, func(it *item) time.Time { return it.t }, func(*item) { n++ }, func(name string, err error) {
		if !errors.Is(err, boom) {
			t.Errorf("unexpected error %v", err)
		}
		failed = append(failed, name)
	})
	if n != 3 {
		t.Errorf("delivered %d items, want 3", n)
	}
	if diff := cmp.Diff([]string{"bad"}, failed); diff != "" {
		t.Errorf("failed streams (-want +got):\n%s", diff)
	}
}

func TestMergeStartsLateStreamsLazily(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	started := map[string]int{}
	delivered := 0
	mk := func(name string, off time.Duration) *stream[item] {
		s := mkStream(name, []time.Time{base.Add(off), base.Add(off + time.Minute)}, nil)
		inner := s.run
		s.run = func(emit func(*item)) error {
			started[name] = delivered
			return inner(emit)
		}
		return s
	}
	merge([]*stream[item]{mk("day2", 24*time.Hour), mk("day1", 0)}, time.Hour,
		func(it *item) time.Time { return it.t }, func(*item) { delivered++ }, nil)
	if started["day2"] != 2 {
		t.Errorf("day2 started after %d deliveries, want 2 (after day1 was drained)", started["day2"])
	}
}

// TestMergeAllocationsDoNotGrowWithItems merges four streams of two sizes:
// batches are recycled between the readers and the merge, so the
// allocations (goroutines, channels, the first batches) do not follow the
// number of items.
func TestMergeAllocationsDoNotGrowWithItems(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	allocs := func(perStream int) float64 {
		var streams []*stream[item]
		for s := range 4 {
			streams = append(streams, &stream[item]{name: fmt.Sprint(s), first: base, run: func(emit func(*item)) error {
				it := item{src: "s"}
				for i := range perStream {
					it.t = base.Add(time.Duration(i*4+s) * time.Second)
					emit(&it)
				}
				return nil
			}})
		}
		n := 0
		return testing.AllocsPerRun(3, func() {
			n = 0
			merge(streams, time.Hour, func(it *item) time.Time { return it.t }, func(*item) { n++ }, nil)
			if n != 4*perStream {
				t.Fatalf("merged %d items, want %d", n, 4*perStream)
			}
		})
	}
	// 50 000 items a stream are about 100 batches: an allocation per batch
	// or per item would show far above the margin for scheduling.
	few, many := allocs(2_000), allocs(50_000)
	t.Logf("%v allocations for 8 000 items, %v for 200 000", few, many)
	if many > few+40 {
		t.Errorf("%v allocations for 200 000 items, %v for 8 000", many, few)
	}
}
