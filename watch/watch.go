// Package watch follows folders where flow-log and audit-log files arrive
// over time. It remembers, per file, how many records were already
// processed, so that a file that grows (Azure's hourly PT1H.json blobs are
// rewritten with more records through the hour) is read on from the last
// processed record, and a restart does not process a file twice.
//
// Progress is counted in records rather than bytes because the formats
// that grow in place are JSON documents rewritten as a whole: a byte offset
// into the old document means nothing in the new one, but its first N
// records are the same.
package watch

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// headLen is how much of a file identifies it: a file whose first bytes
// changed was replaced, not appended to. Only the first half of a short
// file counts, because a JSON document that grows is rewritten from its
// last record on (its closing "]}" moves).
const headLen = 4096

// Progress is what is remembered of one file.
type Progress struct {
	Path    string    `json:"path"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mod_time"`
	// Head is a hash of the file's first HeadLen bytes: up to 4 KiB, and
	// at most half the file.
	Head    uint64 `json:"head"`
	HeadLen int    `json:"head_len"`
	// Records is how many records of the file were processed.
	Records uint64 `json:"records"`
}

// Processor reads path, skips its first skip records, processes the rest,
// and returns the total number of records the file now holds.
type Processor func(path string, skip uint64) (total uint64, err error)

// Watcher polls folders. It is not safe for concurrent use.
type Watcher struct {
	dirs     []string
	progress map[string]Progress
	// settle is how long a file must be unchanged before it is read, so
	// that a writer that is still copying a file in is not raced.
	settle time.Duration
	now    func() time.Time
}

// New returns a watcher of dirs that starts from the given progress (as
// loaded from the store).
func New(dirs []string, progress []Progress, settle time.Duration) *Watcher {
	w := &Watcher{dirs: dirs, progress: make(map[string]Progress, len(progress)), settle: settle, now: time.Now}
	for _, p := range progress {
		w.progress[p.Path] = p
	}
	return w
}

// Progress returns what is remembered, sorted by path, for checkpoints.
func (w *Watcher) Progress() []Progress {
	out := make([]Progress, 0, len(w.progress))
	for _, p := range w.progress {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Forget drops a file's progress, after the file itself was removed.
func (w *Watcher) Forget(path string) { delete(w.progress, path) }

// PollResult says what one poll did.
type PollResult struct {
	Files   int // files read
	Records uint64
	Errors  map[string]error
}

// Poll looks at every file under the folders once and processes what is
// new. Files are taken in order of modification time, then path, so that
// older data goes first.
func (w *Watcher) Poll(process Processor) (PollResult, error) {
	res := PollResult{Errors: map[string]error{}}
	type cand struct {
		path string
		info fs.FileInfo
	}
	var cands []cand
	for _, dir := range w.dirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if d.IsDir() || strings.HasPrefix(d.Name(), ".") || !d.Type().IsRegular() {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return nil // removed meanwhile
			}
			cands = append(cands, cand{path, info})
			return nil
		})
		if err != nil {
			return res, fmt.Errorf("watch %s: %w", dir, err)
		}
	}
	sort.Slice(cands, func(i, j int) bool {
		if !cands[i].info.ModTime().Equal(cands[j].info.ModTime()) {
			return cands[i].info.ModTime().Before(cands[j].info.ModTime())
		}
		return cands[i].path < cands[j].path
	})
	now := w.now()
	for _, c := range cands {
		old, seen := w.progress[c.path]
		if seen && old.Size == c.info.Size() && old.ModTime.Equal(c.info.ModTime()) {
			continue
		}
		if now.Sub(c.info.ModTime()) < w.settle {
			continue
		}
		head, n, err := hashHead(c.path)
		if err != nil {
			res.Errors[c.path] = err
			continue
		}
		skip := uint64(0)
		// The file is the same one, grown or rewritten with more records,
		// when the head we hashed before is still there.
		if seen && n >= old.HeadLen && sameHead(c.path, old) {
			skip = old.Records
		}
		total, err := process(c.path, skip)
		if err != nil {
			res.Errors[c.path] = err
		}
		if total < skip {
			// The file shrank in records: it was replaced after all.
			total = skip
		}
		res.Files++
		res.Records += total - skip
		w.progress[c.path] = Progress{Path: c.path, Size: c.info.Size(), ModTime: c.info.ModTime(), Head: head, HeadLen: n, Records: total}
	}
	return res, nil
}

func hashHead(path string) (uint64, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, fmt.Errorf("open: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return 0, 0, fmt.Errorf("stat: %w", err)
	}
	want := int64(headLen)
	if half := info.Size() / 2; half < want {
		want = half
	}
	buf := make([]byte, want)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return 0, 0, fmt.Errorf("read: %w", err)
	}
	h := fnv.New64a()
	h.Write(buf[:n])
	return h.Sum64(), n, nil
}

// sameHead checks that the file still starts with the bytes hashed when
// it was last read.
func sameHead(path string, old Progress) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, old.HeadLen)
	if _, err := io.ReadFull(f, buf); err != nil {
		return false
	}
	h := fnv.New64a()
	h.Write(buf)
	return h.Sum64() == old.Head
}
