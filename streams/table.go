package streams

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/codeverify/codeverify/schemas"
	"github.com/segmentio/kafka-go"
)

// TableConfig configures a Table.
type TableConfig[T any] struct {
	Cluster Cluster // brokers and connection security
	Topic   string  // read whole, every partition; keyed by message key (compacted topics fit best)
	Codec   *schemas.Codec[T]
	Log     *slog.Logger
}

// Table is a topic held in memory as the newest value per message key: Run reads every partition
// from its beginning, and after reaching the end each partition had when Run started, it follows
// the topic, so the table stays up to date. A record with an empty value deletes its key (a
// tombstone); an undecodable one is skipped and counted. A stage that needs the whole table waits
// for CaughtUp before it processes anything. No consumer group is used and nothing is committed.
type Table[T any] struct {
	cfg      TableConfig[T]
	log      *slog.Logger
	mu       sync.RWMutex
	rows     map[string]T
	next     map[int]int64 // per partition, the offset after the last record applied
	bad      atomic.Int64
	caughtUp chan struct{}
	once     sync.Once
}

// NewTable validates cfg and returns an empty table; nothing connects until Run.
func NewTable[T any](cfg TableConfig[T]) (*Table[T], error) {
	switch {
	case len(cfg.Cluster.Brokers) == 0:
		return nil, errors.New("table config: no brokers")
	case cfg.Cluster.Security.Validate() != nil:
		return nil, fmt.Errorf("table config: %w", cfg.Cluster.Security.Validate())
	case cfg.Topic == "":
		return nil, errors.New("table config: no topic")
	case cfg.Codec == nil:
		return nil, errors.New("table config: no codec")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Table[T]{cfg: cfg, log: cfg.Log.With("table", cfg.Topic), rows: map[string]T{}, next: map[int]int64{}, caughtUp: make(chan struct{})}, nil
}

// CaughtUp is closed once every partition was read up to the end it had when Run started.
func (t *Table[T]) CaughtUp() <-chan struct{} { return t.caughtUp }

// WaitCaughtUp blocks until the table caught up or ctx ends.
func (t *Table[T]) WaitCaughtUp(ctx context.Context) error {
	select {
	case <-t.caughtUp:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("table %s not caught up: %w", t.cfg.Topic, ctx.Err())
	}
}

// Get returns key's newest value.
func (t *Table[T]) Get(key string) (T, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	v, ok := t.rows[key]
	return v, ok
}

// Len is the number of keys.
func (t *Table[T]) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.rows)
}

// Snapshot returns a copy of the table.
func (t *Table[T]) Snapshot() map[string]T {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return maps.Clone(t.rows)
}

// Bad is how many undecodable records were skipped.
func (t *Table[T]) Bad() int64 { return t.bad.Load() }

// Run reads and then follows the topic until ctx ends, when it returns nil. While the broker
// cannot be reached (at start or later) it keeps trying, with backoff and a warning per attempt;
// a security failure (ErrSecurity: refused credentials, an untrusted certificate) ends it with
// that error.
func (t *Table[T]) Run(ctx context.Context) error {
	var parts []int
	if err := retry(ctx, t.log, "table: list partitions", func() (err error) {
		parts, err = topicPartitions(ctx, t.cfg.Cluster, t.cfg.Topic)
		return err
	}, true); err != nil {
		if errors.Is(err, ErrSecurity) {
			return fmt.Errorf("table %s: %w", t.cfg.Topic, err)
		}
		return nil
	}
	var behind atomic.Int32 // partitions not yet read to their start-time end
	behind.Store(int32(len(parts)))
	caughtUp := func() {
		if behind.Add(-1) == 0 {
			t.once.Do(func() { close(t.caughtUp) })
		}
	}
	if len(parts) == 0 {
		t.once.Do(func() { close(t.caughtUp) })
	}
	var wg sync.WaitGroup
	for _, p := range parts {
		wg.Go(func() { t.follow(ctx, p, caughtUp) })
	}
	wg.Wait()
	return nil
}

// follow reads partition p from its beginning until ctx ends, calling caughtUp once when it has
// read up to the end the partition had at the start.
func (t *Table[T]) follow(ctx context.Context, p int, caughtUp func()) {
	var next, end int64
	if err := retry(ctx, t.log, "table: read offsets", func() (err error) {
		next, end, err = partitionOffsets(ctx, t.cfg.Cluster, t.cfg.Topic, p)
		return err
	}, true); err != nil {
		return
	}
	t.setNext(p, next)
	caught := next >= end
	if caught {
		caughtUp()
	}
	_ = retry(ctx, t.log, "table: follow partition", func() error {
		err := readPartitionFrom(ctx, t.cfg.Cluster, t.cfg.Topic, p, next, -1, 500*time.Millisecond, func(m kafka.Message) {
			t.apply(m)
			next = m.Offset + 1
			t.setNext(p, next)
			if !caught && m.Offset >= end-1 {
				caught = true
				caughtUp()
			}
		})
		if ctx.Err() != nil {
			return nil
		}
		return err
	}, true)
}

func (t *Table[T]) setNext(p int, next int64) {
	t.mu.Lock()
	t.next[p] = next
	t.mu.Unlock()
}

// Sync waits until the table has applied every record the topic held when Sync was called. A key
// missing after Sync was not on the topic then: a stage that looks an event's table row up can tell
// "not published" from "not read yet", and dead-letters only the first.
func (t *Table[T]) Sync(ctx context.Context) error {
	if err := t.WaitCaughtUp(ctx); err != nil {
		return err
	}
	t.mu.RLock()
	parts := slices.Collect(maps.Keys(t.next))
	t.mu.RUnlock()
	for _, p := range parts {
		_, end, err := partitionOffsets(ctx, t.cfg.Cluster, t.cfg.Topic, p)
		if err != nil {
			return fmt.Errorf("table %s: %w", t.cfg.Topic, err)
		}
		for {
			t.mu.RLock()
			next := t.next[p]
			t.mu.RUnlock()
			if next >= end {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("table %s not synced: %w", t.cfg.Topic, ctx.Err())
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}

func (t *Table[T]) apply(m kafka.Message) {
	key := string(m.Key)
	if len(m.Value) == 0 {
		t.mu.Lock()
		delete(t.rows, key)
		t.mu.Unlock()
		return
	}
	v, err := t.cfg.Codec.Decode(m.Value)
	if err != nil {
		t.bad.Add(1)
		t.log.Warn("undecodable record skipped", "partition", m.Partition, "offset", m.Offset, "err", err)
		return
	}
	t.mu.Lock()
	t.rows[key] = v
	t.mu.Unlock()
}
