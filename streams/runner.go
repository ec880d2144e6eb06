package streams

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/codeverify/codeverify/schemas"
	"github.com/segmentio/kafka-go"
)

// Processor turns one input event into zero or more output events. It knows nothing of Kafka.
// It must honour ctx: a cancelled ctx means shutdown, and the input will be redelivered.
type Processor[In, Out any] interface {
	Process(ctx context.Context, in In) ([]Out, error)
}

// ProcessorFunc adapts a function to Processor.
type ProcessorFunc[In, Out any] func(ctx context.Context, in In) ([]Out, error)

// Process calls f.
func (f ProcessorFunc[In, Out]) Process(ctx context.Context, in In) ([]Out, error) { return f(ctx, in) }

type permanentError struct{ err error }

func (e *permanentError) Error() string { return "permanent: " + e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks an error that can never succeed: the input goes to the dead-letter topic instead
// of being retried. Any other error from Process is retried until it succeeds or the runner stops.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// IsPermanent reports whether err (or an error it wraps) was marked by Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// ErrAborted is what Run returns after Abort.
var ErrAborted = errors.New("streams: runner aborted")

// RunnerConfig configures a Runner. Zero values take the documented defaults.
type RunnerConfig[In, Out any] struct {
	Brokers  []string
	Group    string // consumer group; its committed offsets are the runner's progress
	Input    string // topic read; undeliverable inputs go to DLQTopic(Input)
	Output   string // topic written
	InCodec  *schemas.Codec[In]
	OutCodec *schemas.Codec[Out]
	OutKey   func(Out) string
	// Validate, if set, rejects inputs before Process; a rejected input is dead-lettered.
	Validate func(In) error
	// Workers is how many Process calls run at once (default runtime.NumCPU()).
	Workers int
	// MaxInFlight bounds fetched but uncommitted messages, and so memory (default 4*Workers). A slow
	// input holds back the commits of its own partition only, but the inputs finished behind it count
	// here until it is done, and kafka-go reads all partitions as one stream: once MaxInFlight inputs
	// wait, every partition waits. Size it above what a slowest input (a timeout) lets pile up.
	MaxInFlight int
	// MaxMessageBytes: larger inputs (key+value) are dead-lettered as "oversized" (default 1 MiB).
	MaxMessageBytes int
	// DrainTimeout bounds graceful shutdown; work not committed by then is redelivered (default 10s).
	DrainTimeout time.Duration
	Log          *slog.Logger
}

func (c RunnerConfig[In, Out]) withDefaults() (RunnerConfig[In, Out], error) {
	var errs []error
	need := func(ok bool, what string) {
		if !ok {
			errs = append(errs, errors.New(what))
		}
	}
	need(len(c.Brokers) > 0, "no brokers")
	need(c.Group != "", "no group")
	need(c.Input != "", "no input topic")
	need(c.Output != "", "no output topic")
	need(c.Input != c.Output, "input and output are the same topic")
	need(c.InCodec != nil, "no input codec")
	need(c.OutCodec != nil, "no output codec")
	need(c.OutKey != nil, "no output key function")
	need(c.Workers >= 0 && c.MaxInFlight >= 0 && c.MaxMessageBytes >= 0 && c.DrainTimeout >= 0, "negative limit")
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("runner config: %w", err)
	}
	if c.Workers == 0 {
		c.Workers = runtime.NumCPU()
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = 4 * c.Workers
	}
	c.MaxInFlight = max(c.MaxInFlight, c.Workers) // fewer slots than workers would idle workers
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = 1 << 20
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = 10 * time.Second
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return c, nil
}

// Stats are a Runner's counters since it was created.
type Stats struct {
	Processed    int64 // inputs whose outputs were written and offsets committed
	Outputs      int64 // output messages written
	DeadLettered int64 // inputs written to the dead-letter topic and committed
	Errors       int64 // transient failures: Process errors, write and commit failures, fetch errors
}

// Runner consumes Input with a consumer group, calls a Processor with bounded concurrency, writes
// outputs and dead letters, and commits an input only after everything it caused was acknowledged.
// Delivery is at-least-once: after a crash or rebalance an input may be processed again, so
// processors and output ids must be idempotent.
type Runner[In, Out any] struct {
	cfg     RunnerConfig[In, Out]
	proc    Processor[In, Out]
	log     *slog.Logger
	started atomic.Bool
	abort   chan struct{}
	once    sync.Once

	processed, outputs, dead, errs atomic.Int64
}

// NewRunner validates cfg and returns a runner; nothing connects until Run.
func NewRunner[In, Out any](cfg RunnerConfig[In, Out], p Processor[In, Out]) (*Runner[In, Out], error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, errors.New("runner config: nil processor")
	}
	log := cfg.Log.With("group", cfg.Group, "input", cfg.Input, "output", cfg.Output)
	return &Runner[In, Out]{cfg: cfg, proc: p, log: log, abort: make(chan struct{})}, nil
}

// Stats returns the counters.
func (r *Runner[In, Out]) Stats() Stats {
	return Stats{Processed: r.processed.Load(), Outputs: r.outputs.Load(), DeadLettered: r.dead.Load(), Errors: r.errs.Load()}
}

// Abort stops the runner as a crash would: nothing more is written or committed, connections are
// closed, and uncommitted inputs are redelivered to the group's next member. Meant for tests.
func (r *Runner[In, Out]) Abort() { r.once.Do(func() { close(r.abort) }) }

func (r *Runner[In, Out]) aborted() bool {
	select {
	case <-r.abort:
		return true
	default:
		return false
	}
}

// slot is one fetched message on its way through the pipeline. The sink keeps slots per partition in
// fetch order, so that a commit never covers an input whose outputs are not yet written, while a slow
// input holds back only its own partition.
type slot[In any] struct {
	msg       kafka.Message
	in        In
	outs      []kafka.Message
	dead      *kafka.Message // the dead letter, when the input is undeliverable
	abandoned bool           // shutdown came before Process succeeded: neither write nor commit
	done      chan struct{}  // closed when outs/dead/abandoned are final
	dropped   atomic.Bool    // its partition was revoked or read again: skip it, write and commit nothing
}

func (s *slot[In]) isDone() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// Run processes until ctx is cancelled (then drains gracefully, returning nil) or Abort is called
// (returning ErrAborted). It may be called once.
func (r *Runner[In, Out]) Run(ctx context.Context) error {
	if !r.started.CompareAndSwap(false, true) {
		return errors.New("streams: Runner.Run called twice")
	}
	cfg := r.cfg
	// stopping ends fetching and retry waits; work bounds Process, writes and commits, and outlives
	// ctx by DrainTimeout so in-flight inputs can finish.
	stopping, stop := context.WithCancel(ctx)
	defer stop()
	work, cancelWork := drainContext(ctx, cfg.DrainTimeout)
	defer cancelWork()
	go func() {
		select {
		case <-r.abort:
			stop()
			cancelWork()
		case <-work.Done():
		}
	}()

	asg := &assignment{topic: cfg.Input}
	reader := newGroupReader(cfg.Brokers, cfg.Group, cfg.Input, cfg.MaxMessageBytes, r.kafkaErrorLog(), func(format string, args ...any) {
		if parts, ok := asg.observe(format, args); ok {
			r.log.Info("partitions assigned", "partitions", sortedKeys(parts))
		} else if format == subscribedFormat {
			r.log.Warn("cannot read kafka-go's assignment; revoked partitions may still be committed", "args", fmt.Sprint(args...))
		}
	})
	transport := &kafka.Transport{}
	writer := newWriter(cfg.Brokers, "", transport)
	writer.BatchBytes = int64(max(4*cfg.MaxMessageBytes, 1<<20)) // room for an oversized input's dead letter

	// credits bound fetched but uncommitted messages: one is taken before each fetch and given back
	// once the message is committed or dropped.
	credits := make(chan struct{}, cfg.MaxInFlight)
	order := make(chan *slot[In], cfg.MaxInFlight) // fetched slots, to the sink in fetch order
	todo := make(chan *slot[In], cfg.MaxInFlight)
	wake := make(chan struct{}, 1) // a slot finished
	var wg sync.WaitGroup
	wg.Go(func() { r.fetch(stopping, reader, credits, order, todo) })
	for range cfg.Workers {
		wg.Go(func() {
			for s := range todo {
				if s.dropped.Load() {
					s.abandoned = true
				} else {
					r.process(stopping, work, s)
				}
				close(s.done)
				select {
				case wake <- struct{}{}:
				default:
				}
			}
		})
	}
	r.log.Info("runner started", "workers", cfg.Workers, "max_in_flight", cfg.MaxInFlight)
	r.sink(work, order, wake, credits, asg, reader, writer)

	stop()
	cancelWork()
	wg.Wait()
	_ = reader.Close() // leaves the group, so the next member gets the partitions at once
	_ = writer.Close()
	transport.CloseIdleConnections()
	r.log.Info("runner stopped", "aborted", r.aborted(), "stats", r.Stats())
	if r.aborted() {
		return ErrAborted
	}
	return nil
}

func (r *Runner[In, Out]) kafkaErrorLog() kafka.LoggerFunc {
	return func(msg string, args ...any) { r.log.Warn("kafka: " + fmt.Sprintf(msg, args...)) }
}

// fetch reads messages in order, screens out undeliverable ones, and hands the rest to workers.
// Credits are the backpressure: fetching waits while MaxInFlight messages are uncommitted.
func (r *Runner[In, Out]) fetch(ctx context.Context, reader *kafka.Reader, credits chan struct{}, order, todo chan<- *slot[In]) {
	defer close(todo)
	defer close(order)
	bo := newBackoff(100*time.Millisecond, 5*time.Second)
	for {
		select {
		case credits <- struct{}{}:
		case <-ctx.Done():
			return
		}
		m, err := reader.FetchMessage(ctx)
		if err != nil {
			<-credits
			if ctx.Err() != nil || errors.Is(err, io.EOF) {
				return
			}
			r.errs.Add(1)
			r.log.Warn("fetch failed", "err", err)
			if bo.wait(ctx) != nil {
				return
			}
			continue
		}
		bo.reset()
		s := &slot[In]{msg: m, done: make(chan struct{})}
		r.screen(s)
		if s.dead != nil {
			close(s.done)
		}
		// Neither channel can be full: each holds at most MaxInFlight slots, one per credit.
		order <- s
		if s.dead == nil {
			todo <- s
		}
	}
}

// screen dead-letters oversized, undecodable and invalid inputs, and decodes the rest.
func (r *Runner[In, Out]) screen(s *slot[In]) {
	m := s.msg
	deadLetter := func(stage, reason string) {
		dl := deadLetterMessage(m, stage, reason)
		s.dead = &dl
		r.log.Warn("dead letter", "stage", stage, "reason", reason, "partition", m.Partition, "offset", m.Offset)
	}
	if n := len(m.Key) + len(m.Value); n > r.cfg.MaxMessageBytes {
		deadLetter(StageDecode, ReasonOversized)
		return
	}
	in, err := r.cfg.InCodec.Decode(m.Value)
	if err != nil {
		deadLetter(StageDecode, err.Error())
		return
	}
	if r.cfg.Validate != nil {
		if err := r.cfg.Validate(in); err != nil {
			deadLetter(StageValidate, err.Error())
			return
		}
	}
	s.in = in
}

// process calls the processor until it succeeds, fails permanently, or the runner stops.
func (r *Runner[In, Out]) process(stopping, work context.Context, s *slot[In]) {
	bo := newBackoff(100*time.Millisecond, 30*time.Second)
	for attempt := 1; ; attempt++ {
		outs, err := r.callProcess(work, s.in)
		if err == nil {
			if s.outs, err = r.encode(outs); err == nil {
				return
			}
			err = Permanent(err) // the processor built an output its own schema rejects: a bug, not bad luck
		}
		if IsPermanent(err) {
			dl := deadLetterMessage(s.msg, StageProcess, err.Error())
			s.dead = &dl
			r.log.Warn("dead letter", "stage", StageProcess, "reason", err.Error(), "partition", s.msg.Partition, "offset", s.msg.Offset)
			return
		}
		r.errs.Add(1)
		r.log.Warn("process failed, will retry", "attempt", attempt, "err", err, "partition", s.msg.Partition, "offset", s.msg.Offset)
		if bo.wait(stopping) != nil {
			s.abandoned = true
			return
		}
	}
}

// callProcess turns a panic in the processor into a permanent error: the same input would panic
// again, and one bad input must not take the runner down.
func (r *Runner[In, Out]) callProcess(ctx context.Context, in In) (outs []Out, err error) {
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("processor panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = Permanent(fmt.Errorf("panic: %v", p))
		}
	}()
	return r.proc.Process(ctx, in)
}

func (r *Runner[In, Out]) encode(outs []Out) ([]kafka.Message, error) {
	msgs := make([]kafka.Message, len(outs))
	for i, o := range outs {
		b, err := r.cfg.OutCodec.Encode(o)
		if err != nil {
			return nil, fmt.Errorf("encode output %d: %w", i, err)
		}
		msgs[i] = kafka.Message{Topic: r.cfg.Output, Key: []byte(r.cfg.OutKey(o)), Value: b}
	}
	return msgs, nil
}

// sink takes each partition's finished slots in fetch order, writes their outputs and dead letters
// in one batch, then commits per partition the offset below which everything is written. It returns
// when the runner must stop, or once fetching ended and nothing more can be written.
func (r *Runner[In, Out]) sink(ctx context.Context, order <-chan *slot[In], wake <-chan struct{}, credits <-chan struct{}, asg *assignment, reader *kafka.Reader, writer *kafka.Writer) {
	t := newTracker[In]()
	release := func(n int) {
		for range n {
			<-credits
		}
	}
	for {
		// Queue every slot fetched so far, so that one batch covers all that is finished.
	queue:
		for order != nil {
			select {
			case s, ok := <-order:
				if !ok {
					order = nil
					break queue
				}
				t.add(s)
			default:
				break queue
			}
		}
		t.reassign(asg.snapshot())
		release(t.reap())
		if batch := t.ready(); len(batch) > 0 {
			if !r.flush(ctx, batch, asg, reader, writer) {
				return
			}
			release(len(batch))
			continue
		}
		if order == nil && t.idle() {
			return
		}
		select {
		case s, ok := <-order:
			if !ok {
				order = nil
				continue
			}
			t.add(s)
		case <-wake:
		case <-ctx.Done():
			return
		}
	}
}

// flush writes the batch's outputs and dead letters (one WriteMessages, acks=all), then commits each
// partition's last input. Partitions revoked meanwhile are neither written nor committed. It
// reports false when the runner must stop (aborted, or out of drain time).
func (r *Runner[In, Out]) flush(ctx context.Context, batch []*slot[In], asg *assignment, reader *kafka.Reader, writer *kafka.Writer) bool {
	var msgs []kafka.Message
	written := map[int]bool{} // partitions whose outputs are in msgs: only these may be committed
	for _, s := range batch {
		w, seen := written[s.msg.Partition]
		if !seen { // decided once per partition, so that a commit never covers an unwritten slot
			w = asg.owns(s.msg.Partition)
			written[s.msg.Partition] = w
		}
		if !w {
			continue
		}
		if s.dead != nil {
			msgs = append(msgs, *s.dead)
		} else {
			msgs = append(msgs, s.outs...)
		}
	}
	bo := newBackoff(100*time.Millisecond, 30*time.Second)
	for len(msgs) > 0 {
		if r.aborted() {
			return false
		}
		err := writer.WriteMessages(ctx, msgs...)
		if err == nil {
			break
		}
		// A partial failure is retried whole: duplicates are allowed, losses are not.
		r.errs.Add(1)
		r.log.Warn("write failed, will retry", "messages", len(msgs), "err", err)
		if bo.wait(ctx) != nil {
			return false
		}
	}
	bo.reset()
	for {
		if r.aborted() {
			return false
		}
		// Re-checked on every attempt: a failed commit is often a rebalance.
		last := map[int]kafka.Message{} // a partition's commit covers everything before its last input
		for _, s := range batch {
			if p := s.msg.Partition; written[p] && asg.owns(p) {
				last[p] = s.msg
			}
		}
		if len(last) == 0 {
			return true
		}
		inputs := make([]kafka.Message, 0, len(last))
		for _, m := range last {
			inputs = append(inputs, m)
		}
		err := reader.CommitMessages(ctx, inputs...)
		if err == nil {
			r.count(batch, last)
			return true
		}
		r.errs.Add(1)
		r.log.Warn("commit failed, will retry", "partitions", len(inputs), "err", err)
		if errors.Is(err, io.ErrClosedPipe) || bo.wait(ctx) != nil {
			return false // outputs are written; the inputs will be redelivered and written again
		}
	}
}

// count adds the committed slots of batch to the stats.
func (r *Runner[In, Out]) count(batch []*slot[In], committed map[int]kafka.Message) {
	for _, s := range batch {
		if _, ok := committed[s.msg.Partition]; !ok {
			continue
		}
		if s.dead != nil {
			r.dead.Add(1)
			continue
		}
		r.processed.Add(1)
		r.outputs.Add(int64(len(s.outs)))
	}
}

func sortedKeys(m map[int]bool) []int {
	keys := slices.Collect(maps.Keys(m))
	slices.Sort(keys)
	return keys
}
