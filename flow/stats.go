package flow

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Errors counts malformed input by reason, so that nothing is dropped
// silently. It is safe for concurrent use.
type Errors struct {
	mu     sync.Mutex
	counts map[string]uint64
}

// Add counts n occurrences of reason.
func (e *Errors) Add(reason string, n uint64) {
	e.mu.Lock()
	if e.counts == nil {
		e.counts = make(map[string]uint64)
	}
	e.counts[reason] += n
	e.mu.Unlock()
}

// Snapshot returns a copy of the counts.
func (e *Errors) Snapshot() map[string]uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]uint64, len(e.counts))
	for k, v := range e.counts {
		out[k] = v
	}
	return out
}

// Total returns the sum of all counts.
func (e *Errors) Total() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	var t uint64
	for _, v := range e.counts {
		t += v
	}
	return t
}

// String renders "reason=n, reason=n" sorted by reason, or "none".
func (e *Errors) String() string {
	s := e.Snapshot()
	if len(s) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, s[k])
	}
	return strings.Join(parts, ", ")
}
