package executor

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/codeverify/codeverify/schemas"
)

// VerdictLookup finds a verdict already stored for exactly this (problem, test suite, code)
// (e.g. in ClickHouse); cmd wires it, the executor only sees this interface.
type VerdictLookup interface {
	LookupVerdict(ctx context.Context, problemID, suiteHash, codeSHA256 string) (label, kind, detail string, found bool, err error)
}

// CacheStats counts how candidates were answered.
type CacheStats struct {
	Executed   int64 // ran in the sandbox
	MemoryHits int64 // answered by the in-process LRU (or joined an identical run in flight)
	StoreHits  int64 // answered by the VerdictLookup
}

// HitRate is the share of candidates answered without executing.
func (s CacheStats) HitRate() float64 {
	total := s.Executed + s.MemoryHits + s.StoreHits
	if total == 0 {
		return 0
	}
	return float64(s.MemoryHits+s.StoreHits) / float64(total)
}

// SetLookup sets the store consulted before executing (call before the first Execute).
func (e *Executor) SetLookup(l VerdictLookup) { e.cfg.Lookup = l }

// normalizeCode makes trivially different copies of a program one key: line endings and
// trailing whitespace never change what Python runs (indentation is leading, so it stays).
func normalizeCode(code string) string {
	code = strings.ReplaceAll(code, "\r\n", "\n")
	lines := strings.Split(code, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n")
}

// cacheKey: tests is the generated tests' TestsHash for a dual result, "" for a verdict alone.
type cacheKey struct{ problem, suite, code, tests string }

func keyOf(p schemas.Problem, code string) cacheKey {
	sum := sha256.Sum256([]byte(normalizeCode(code)))
	return cacheKey{p.ProblemID, p.SuiteHash(), hex.EncodeToString(sum[:]), ""}
}

// cacheable: a timeout depends on limits and load, not only on the program (a generated test's
// too); errors are no label.
func cacheable(r Result) bool {
	if r.Err != nil || r.Label == "" || r.Kind == schemas.KindTimeout {
		return false
	}
	for _, g := range r.gen {
		if g.Status == schemas.TestTimeout {
			return false
		}
	}
	return true
}

// verdictCache is an LRU of results plus single-flight for identical candidates running at once.
type verdictCache struct {
	mu       sync.Mutex
	max      int
	order    *list.List // front = most recent; values are *cacheEntry
	m        map[cacheKey]*list.Element
	inflight map[cacheKey]*flight
	stats    struct{ executed, memory, store atomic.Int64 }
}

type cacheEntry struct {
	k cacheKey
	r Result
}

type flight struct {
	done chan struct{}
	r    Result
}

func newVerdictCache(max int) *verdictCache {
	return &verdictCache{max: max, order: list.New(), m: map[cacheKey]*list.Element{}, inflight: map[cacheKey]*flight{}}
}

// do answers from the cache, joins an identical run in flight, or runs exec (and remembers it).
func (c *verdictCache) do(ctx context.Context, k cacheKey, exec func() Result) Result {
	c.mu.Lock()
	if el, ok := c.m[k]; ok {
		c.order.MoveToFront(el)
		r := el.Value.(*cacheEntry).r
		c.mu.Unlock()
		c.stats.memory.Add(1)
		r.Runtime = 0
		return r
	}
	if f, ok := c.inflight[k]; ok {
		c.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return Result{Err: ctx.Err()}
		}
		if cacheable(f.r) {
			c.stats.memory.Add(1)
			r := f.r
			r.Runtime = 0
			return r
		}
		return c.do(ctx, k, exec) // the first run gave no reusable answer: run our own
	}
	f := &flight{done: make(chan struct{})}
	c.inflight[k] = f
	c.mu.Unlock()

	r := exec()
	c.mu.Lock()
	delete(c.inflight, k)
	f.r = r
	close(f.done)
	if cacheable(r) {
		c.put(k, r)
	}
	c.mu.Unlock()
	return r
}

// peek returns the entry for k, if any, without counting a hit.
func (c *verdictCache) peek(k cacheKey) (Result, bool) {
	if c == nil {
		return Result{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.m[k]
	if !ok {
		return Result{}, false
	}
	c.order.MoveToFront(el)
	r := el.Value.(*cacheEntry).r
	r.Runtime = 0
	return r, true
}

// offer remembers r for k when it is cacheable and k has no entry yet.
func (c *verdictCache) offer(k cacheKey, r Result) {
	if c == nil || !cacheable(r) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; !ok {
		c.put(k, r)
	}
}

func (c *verdictCache) put(k cacheKey, r Result) {
	if el, ok := c.m[k]; ok {
		el.Value.(*cacheEntry).r = r
		c.order.MoveToFront(el)
		return
	}
	c.m[k] = c.order.PushFront(&cacheEntry{k, r})
	for c.order.Len() > c.max {
		old := c.order.Back()
		c.order.Remove(old)
		delete(c.m, old.Value.(*cacheEntry).k)
	}
}
