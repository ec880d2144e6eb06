package streams

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/codeverify/codeverify/internal/backoff"
	"github.com/codeverify/codeverify/schemas"
	"github.com/segmentio/kafka-go"
)

// BatchConfig configures RunBatches. Zero values take the documented defaults.
type BatchConfig[T any] struct {
	Cluster Cluster // brokers and connection security
	Group   string
	Topic   string // undeliverable messages go to DLQTopic(Topic)
	Codec   *schemas.Codec[T]
	// Validate, if set, rejects events that can never be written: each is dead-lettered (stage
	// "validate", the error as reason) before its batch's other events are written, and committed
	// with the batch.
	Validate func(T) error
	// MaxBatch is the most messages per write (default 1000).
	MaxBatch int
	// MaxWait is how long a batch may wait for more messages after its first (default 1s).
	MaxWait time.Duration
	// MaxMessageBytes: larger messages (key+value) are dead-lettered as "oversized" (default 1 MiB).
	MaxMessageBytes int
	// DrainTimeout bounds the final flush on shutdown (default 10s).
	DrainTimeout time.Duration
	// DeadLetterMaxBytes bounds a dead letter as in RunnerConfig (default DefaultMaxWriteBytes).
	DeadLetterMaxBytes int
	// SessionTimeout, HeartbeatInterval and RebalanceTimeout are the group member's timeouts, as
	// in RunnerConfig (defaults 6s, 1s, 10s).
	SessionTimeout    time.Duration
	HeartbeatInterval time.Duration
	RebalanceTimeout  time.Duration
	// OnDeadLettered, if set, is told how many events of a stage ("decode", "validate", "write")
	// were stored in the dead-letter topic; for metrics.
	OnDeadLettered func(stage string, n int)
	Log            *slog.Logger
}

func (c BatchConfig[T]) withDefaults() (BatchConfig[T], error) {
	switch {
	case len(c.Cluster.Brokers) == 0:
		return c, errors.New("batch config: no brokers")
	case c.Cluster.Security.Validate() != nil:
		return c, fmt.Errorf("batch config: %w", c.Cluster.Security.Validate())
	case c.Group == "" || c.Topic == "":
		return c, errors.New("batch config: group and topic are required")
	case c.Codec == nil:
		return c, errors.New("batch config: no codec")
	case c.MaxBatch < 0 || c.MaxWait < 0 || c.DrainTimeout < 0 || c.DeadLetterMaxBytes < 0 || c.MaxMessageBytes < 0:
		return c, errors.New("batch config: negative limit")
	case c.DeadLetterMaxBytes != 0 && c.DeadLetterMaxBytes < 4*recordOverhead:
		return c, errors.New("batch config: dead-letter limit below 4 KiB")
	}
	gt, err := groupTimeouts{c.SessionTimeout, c.HeartbeatInterval, c.RebalanceTimeout}.withDefaults()
	if err != nil {
		return c, fmt.Errorf("batch config: %w", err)
	}
	c.SessionTimeout, c.HeartbeatInterval, c.RebalanceTimeout = gt.session, gt.heartbeat, gt.rebalance
	if c.MaxBatch == 0 {
		c.MaxBatch = 1000
	}
	if c.MaxWait == 0 {
		c.MaxWait = time.Second
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = 1 << 20
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = 10 * time.Second
	}
	if c.DeadLetterMaxBytes == 0 {
		c.DeadLetterMaxBytes = DefaultMaxWriteBytes
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.OnDeadLettered == nil {
		c.OnDeadLettered = func(string, int) {}
	}
	return c, nil
}

func (c BatchConfig[T]) timeouts() groupTimeouts {
	return groupTimeouts{session: c.SessionTimeout, heartbeat: c.HeartbeatInterval, rebalance: c.RebalanceTimeout}
}

// Rejected is how a RunBatches write says that one event of its batch can never be written (a row
// the database refuses for its content). Return it alone, wrapped, or several of them joined
// (errors.Join). The events named are dead-lettered (stage "write", Err as reason), and write is
// called again at once with the others.
type Rejected struct {
	Index int // in the batch write was given
	Err   error
}

func (r *Rejected) Error() string {
	if r.Err == nil {
		return fmt.Sprintf("event %d rejected by the writer", r.Index)
	}
	return r.Err.Error()
}
func (r *Rejected) Unwrap() error { return r.Err }

// rejections returns every *Rejected in err's tree (through Unwrap() error and Unwrap() []error).
func rejections(err error) []*Rejected {
	var out []*Rejected
	var walk func(error)
	walk = func(e error) {
		switch x := e.(type) {
		case nil:
		case *Rejected:
			out = append(out, x)
		case interface{ Unwrap() []error }:
			for _, c := range x.Unwrap() {
				walk(c)
			}
		case interface{ Unwrap() error }:
			walk(x.Unwrap())
		}
	}
	walk(err)
	return out
}

// RunBatches consumes Topic as a member of a consumer group and hands decoded, valid events to
// write in batches of up to MaxBatch, or fewer once MaxWait passed since a batch's first message.
// It returns nil after ctx is cancelled: fetching stops, the partial batch is written and
// committed within DrainTimeout, and the member leaves the group. It returns an ErrSecurity error
// at once when the broker refuses its credentials or certificate.
//
// Delivery, like the Runner's (see the package documentation): each generation of the group
// assigns partitions and their committed offsets; a batch's offsets are committed with the
// generation's id after everything it holds is stored, and never once the generation ended (the
// next owner of those partitions gets the batch again). So write must be idempotent.
//
// A batch, in order: its undeliverable messages (oversized, undecodable, or refused by Validate)
// are written to the dead-letter topic; then write is called with the rest. A nil error means all
// are stored. Rejected errors dead-letter the events they name, and the rest is written again at
// once. An error marked Permanent without Rejected is taken to concern some unknown events of the
// batch: the batch is split in halves, each written on its own, down to single events, which are
// dead-lettered — so a write must mark Permanent only errors that the content of some event
// causes, never a missing table or bad credentials. Any other error is retried with backoff until
// write succeeds, the generation ends or the drain time is up. Then the batch is committed.
//
// write gets a context that ends with the generation (or the drain time): it should return then.
func RunBatches[T any](ctx context.Context, cfg BatchConfig[T], write func(ctx context.Context, batch []T) error) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	b := &batcher[T]{cfg: cfg, write: write, log: cfg.Log.With("group", cfg.Group, "topic", cfg.Topic)}
	// stopping ends fetching; work bounds writes and commits, and outlives ctx by DrainTimeout so the
	// last batch can be stored and committed.
	stopping, stop := context.WithCancel(ctx)
	defer stop()
	work, cancelWork := drainContext(ctx, cfg.DrainTimeout)
	defer cancelWork()

	cg, err := newConsumerGroup(cfg.Cluster, cfg.Group, cfg.Topic, cfg.timeouts(), kafkaLogAt(b.log, slog.LevelDebug))
	if err != nil {
		return err
	}
	// Dead letters are sized to fit and never retried forever (see recordWriter).
	b.dlq = newRecordWriter(cfg.Cluster, cfg.DeadLetterMaxBytes, cfg.DeadLetterMaxBytes, b.log, nil)
	b.log.Info("batch consumer started", "max_batch", cfg.MaxBatch, "max_wait", cfg.MaxWait.String())
	joinErr := joinGenerations(stopping, cg, cfg.Cluster, b.log, func() {}, func(gctx context.Context, kg *kafka.Generation) {
		b.consume(gctx, kg, stopping, work)
	})
	_ = cg.Close()
	_ = b.dlq.Close()
	b.log.Info("batch consumer stopped")
	return joinErr
}

// batcher is RunBatches' state across generations.
type batcher[T any] struct {
	cfg   BatchConfig[T]
	write func(context.Context, []T) error
	log   *slog.Logger
	dlq   *recordWriter
}

// fetched is one message read, decoded and screened.
type fetched[T any] struct {
	msg  kafka.Message
	item T
	dead *kafka.Message // its dead letter, when it is undeliverable
}

// consume runs one generation: a fetcher per assigned partition from its committed offset, and the
// batch loop, which writes and commits. What it did not commit when the generation ends is dropped.
func (b *batcher[T]) consume(gctx context.Context, kg *kafka.Generation, stopping, work context.Context) {
	genWork, cancelWork := unlessDone(work, gctx.Done())
	defer cancelWork()
	genStop, cancelStop := unlessDone(stopping, gctx.Done())
	defer cancelStop()
	parts, assigned := assignedPartitions(kg, b.cfg.Topic)
	b.log.Info("partitions assigned", "generation", kg.ID, "partitions", parts)

	// Fetchers stop at shutdown or at the end of the generation; the loop takes what they fetched
	// until then, writes it and commits it.
	fetching, stopFetching := context.WithCancel(genStop)
	defer stopFetching()
	in := make(chan fetched[T], b.cfg.MaxBatch)
	var fetchers sync.WaitGroup
	for _, a := range assigned {
		fetchers.Go(func() { b.fetch(fetching, a.ID, a.Offset, in) })
	}
	go func() {
		fetchers.Wait()
		close(in)
	}()
	defer func() {
		stopFetching()
		for range in { // unblock the fetchers; what they hold is redelivered
		}
	}()

	for {
		batch, more := b.collect(in)
		if len(batch) > 0 && !b.flush(genWork, kg, batch) {
			b.log.Info("batch not committed; it will be redelivered", "generation", kg.ID, "messages", len(batch))
			return
		}
		if !more {
			return
		}
	}
}

// collect takes up to MaxBatch messages from in, waiting at most MaxWait after the first; more is
// false once in is closed (fetching stopped).
func (b *batcher[T]) collect(in <-chan fetched[T]) (batch []fetched[T], more bool) {
	f, ok := <-in
	if !ok {
		return nil, false
	}
	batch = append(batch, f)
	t := time.NewTimer(b.cfg.MaxWait)
	defer t.Stop()
	for len(batch) < b.cfg.MaxBatch {
		select {
		case f, ok := <-in:
			if !ok {
				return batch, false
			}
			batch = append(batch, f)
		case <-t.C:
			return batch, true
		}
	}
	return batch, true
}

// fetch reads one partition from start in offset order, decodes and screens each message.
func (b *batcher[T]) fetch(ctx context.Context, partition int, start int64, out chan<- fetched[T]) {
	followPartition(ctx, b.cfg.Cluster, b.cfg.Topic, partition, start, 4*b.cfg.MaxMessageBytes, b.log, nil, func(m kafka.Message) bool {
		select {
		case out <- b.screen(m):
			return true
		case <-ctx.Done():
			return false
		}
	})
}

// screen decodes m, or makes its dead letter when it is oversized, undecodable or invalid.
func (b *batcher[T]) screen(m kafka.Message) fetched[T] {
	f := fetched[T]{msg: m}
	deadLetter := func(stage, reason string) fetched[T] {
		dl := deadLetterMessage(m, stage, reason, b.cfg.DeadLetterMaxBytes)
		f.dead = &dl
		b.log.Warn("dead letter", "stage", stage, "reason", reason, "partition", m.Partition, "offset", m.Offset)
		return f
	}
	if n := len(m.Key) + len(m.Value); n > b.cfg.MaxMessageBytes {
		return deadLetter(StageDecode, ReasonOversized)
	}
	v, err := b.cfg.Codec.Decode(m.Value)
	if err != nil {
		return deadLetter(StageDecode, err.Error())
	}
	if b.cfg.Validate != nil {
		if err := b.cfg.Validate(v); err != nil {
			return deadLetter(StageValidate, err.Error())
		}
	}
	f.item = v
	return f
}

// flush stores a batch — dead letters first, then the events through write — and commits it with
// the generation's id. It reports false, having committed nothing, when ctx ended (the generation
// is over, or the drain time is up) or the broker refused the commit.
func (b *batcher[T]) flush(ctx context.Context, kg *kafka.Generation, batch []fetched[T]) bool {
	var dead []outbound
	var good []fetched[T]
	for _, f := range batch {
		if f.dead != nil {
			dead = append(dead, outbound{msg: *f.dead, input: f.msg, dead: true})
		} else {
			good = append(good, f)
		}
	}
	if !b.deadLetter(ctx, dead) {
		return false
	}
	if !b.store(ctx, good) {
		return false
	}
	offsets := map[int]int64{}
	for _, f := range batch {
		offsets[f.msg.Partition] = max(offsets[f.msg.Partition], f.msg.Offset+1)
	}
	return commitGeneration(ctx, kg, b.cfg.Topic, offsets, b.log, func() {})
}

// store writes the events through write until every one is stored or dead-lettered; false when ctx
// ended first.
func (b *batcher[T]) store(ctx context.Context, fs []fetched[T]) bool {
	bo := backoff.New(100*time.Millisecond, 30*time.Second)
	for attempt := 1; len(fs) > 0; attempt++ {
		if ctx.Err() != nil {
			return false
		}
		items := make([]T, len(fs))
		for i, f := range fs {
			items[i] = f.item
		}
		err := b.write(ctx, items)
		if err == nil {
			return true
		}
		if rs := rejections(err); len(rs) > 0 {
			rejected := map[int]error{}
			for _, r := range rs {
				if r.Index >= 0 && r.Index < len(fs) {
					rejected[r.Index] = r
				}
			}
			if len(rejected) > 0 {
				var dead []outbound
				var rest []fetched[T]
				for i, f := range fs {
					if e, ok := rejected[i]; ok {
						dead = append(dead, b.writeDeadLetter(f, e))
					} else {
						rest = append(rest, f)
					}
				}
				if !b.deadLetter(ctx, dead) {
					return false
				}
				fs = rest
				bo.Reset()
				continue
			}
		}
		if IsPermanent(err) {
			if len(fs) == 1 {
				return b.deadLetter(ctx, []outbound{b.writeDeadLetter(fs[0], err)})
			}
			// Some event of the batch is refused for good, and write did not say which: halve.
			b.log.Warn("write refused permanently; splitting the batch to find the events at fault", "events", len(fs), "err", err)
			half := len(fs) / 2
			return b.store(ctx, fs[:half]) && b.store(ctx, fs[half:])
		}
		b.log.Warn("batch write failed, will retry", "attempt", attempt, "events", len(fs), "err", err)
		if bo.Wait(ctx) != nil {
			return false
		}
	}
	return true
}

// deadLetter stores dead letters; false when ctx ended first.
func (b *batcher[T]) deadLetter(ctx context.Context, dead []outbound) bool {
	if len(dead) == 0 {
		return true
	}
	if b.dlq.write(ctx, dead) != nil {
		return false
	}
	n := map[string]int{}
	for _, o := range dead {
		for _, h := range o.msg.Headers {
			if h.Key == HeaderStage {
				n[string(h.Value)]++
			}
		}
	}
	for stage, k := range n {
		b.cfg.OnDeadLettered(stage, k)
	}
	return true
}

// writeDeadLetter is the dead letter of an event write refused for good.
func (b *batcher[T]) writeDeadLetter(f fetched[T], err error) outbound {
	dl := deadLetterMessage(f.msg, StageWrite, err.Error(), b.cfg.DeadLetterMaxBytes)
	b.log.Warn("dead letter", "stage", StageWrite, "reason", err.Error(), "partition", f.msg.Partition, "offset", f.msg.Offset)
	return outbound{msg: dl, input: f.msg, dead: true}
}
