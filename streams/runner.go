package streams

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/codeverify/codeverify/internal/backoff"
	"github.com/codeverify/codeverify/internal/permanent"
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

// AsyncProcessor is a processor whose outputs may come later: Start returns at once, and the input
// stays uncommitted until done is called with its outputs or an error (retried, or dead-lettered when
// Permanent, as from Process). No goroutine waits meanwhile, so inputs that wait on other events (a
// join) cost memory, not goroutines. done must be called once; when ctx ends first (shutdown,
// revocation) the input is given up and redelivered, and a later done is ignored.
type AsyncProcessor[In, Out any] interface {
	Start(ctx context.Context, in In, done func([]Out, error))
}

// Permanent marks an error that can never succeed: the input goes to the dead-letter topic instead
// of being retried. Any other error from Process is retried until it succeeds or the runner stops.
// Marking is idempotent; errors processors marked with internal/permanent are permanent already.
func Permanent(err error) error { return permanent.Mark(err) }

// IsPermanent reports whether err (or an error it wraps) is permanent.
func IsPermanent(err error) bool { return permanent.Is(err) }

// ErrAborted is what Run returns after Abort.
var ErrAborted = errors.New("streams: runner aborted")

// Record is one output message as RunnerConfig.Route addresses it.
type Record struct {
	Topic string
	Key   string
	Value []byte
}

// EncodeRecord encodes v with codec into a Record for topic; it is the building block of a Route.
func EncodeRecord[T any](topic string, codec *schemas.Codec[T], key string, v T) (Record, error) {
	b, err := codec.Encode(v)
	if err != nil {
		return Record{}, fmt.Errorf("encode for %s: %w", topic, err)
	}
	return Record{Topic: topic, Key: key, Value: b}, nil
}

// RunnerConfig configures a Runner. Zero values take the documented defaults.
type RunnerConfig[In, Out any] struct {
	Cluster Cluster // brokers and connection security
	Group   string  // consumer group; its committed offsets are the runner's progress
	Input   string  // topic read; undeliverable inputs go to DLQTopic(Input)
	// Output, OutCodec and OutKey say where and how every output is written, unless Route is set.
	Output   string
	InCodec  *schemas.Codec[In]
	OutCodec *schemas.Codec[Out]
	OutKey   func(Out) string
	// Route, when set, addresses each output itself (topic, key, encoded value), so one input can
	// produce outputs for several topics, each with its own codec: Out is then typically a struct
	// with one field per kind, and Route encodes the field that is set with EncodeRecord. Output,
	// OutCodec and OutKey are not used. An error from Route, or a record for no topic or for the
	// input topic, is a bug: the input is dead-lettered.
	Route func(Out) (Record, error)
	// NoOutput declares a runner whose processor only consumes (a join's side input): no output
	// topic, codec, key or route. An output from its processor is a bug: the input is dead-lettered.
	NoOutput bool
	// Validate, if set, rejects inputs before Process; a rejected input is dead-lettered.
	Validate func(In) error
	// Workers is how many Process calls run at once (default runtime.NumCPU()).
	Workers int
	// MaxInFlight bounds fetched but uncommitted inputs, and so memory (default 4*Workers); each
	// assigned partition may hold one more fetched input while it waits for room. A slow input
	// holds back the commits of its own partition only, but the inputs finished behind it count
	// here until it is done: once MaxInFlight inputs wait, every partition waits. Size it above
	// what a slowest input (a timeout) lets pile up.
	MaxInFlight int
	// MaxMessageBytes: larger inputs (key+value) are dead-lettered as "oversized" (default 1 MiB).
	MaxMessageBytes int
	// MaxWriteBytes is the most bytes of one produce batch to one partition, and so the largest
	// output; an output larger than this, or refused by the broker as too large even alone, is
	// replaced by a dead letter of its input (default DefaultMaxWriteBytes).
	MaxWriteBytes int
	// DeadLetterMaxBytes is the most bytes a dead letter may take, key, value and headers counted:
	// the dead-letter topic's max.message.bytes less a margin. A longer original value is stored
	// cut, with its size and SHA-256 in headers (default DefaultMaxWriteBytes).
	DeadLetterMaxBytes int
	// DrainTimeout bounds graceful shutdown; work not committed by then is redelivered (default 10s).
	DrainTimeout time.Duration
	// SessionTimeout is how long the group waits for a silent member (killed, partitioned) before
	// giving its partitions to the others: the pause a crash costs (default 6s, the least a default
	// broker accepts). HeartbeatInterval is how often the member reports in and learns of a
	// rebalance (default 1s). RebalanceTimeout is how long the group waits for every member to
	// rejoin in a rebalance (default 10s).
	SessionTimeout    time.Duration
	HeartbeatInterval time.Duration
	RebalanceTimeout  time.Duration
	// OnDeadLettered, if set, is told how many committed inputs went to the dead-letter topic at
	// a stage (StageDecode, StageValidate, StageProcess, StageWrite); for metrics.
	OnDeadLettered func(stage string, n int)
	Log            *slog.Logger
}

func (c RunnerConfig[In, Out]) withDefaults() (RunnerConfig[In, Out], error) {
	var errs []error
	need := func(ok bool, what string) {
		if !ok {
			errs = append(errs, errors.New(what))
		}
	}
	need(len(c.Cluster.Brokers) > 0, "no brokers")
	if err := c.Cluster.Security.Validate(); err != nil {
		errs = append(errs, err)
	}
	need(c.Group != "", "no group")
	need(c.Input != "", "no input topic")
	need(c.InCodec != nil, "no input codec")
	need(!c.NoOutput || c.Route == nil && c.Output == "", "NoOutput with an output topic or route")
	if c.Route == nil && !c.NoOutput {
		need(c.Output != "", "no output topic (and no route)")
		need(c.Input != c.Output, "input and output are the same topic")
		need(c.OutCodec != nil, "no output codec (and no route)")
		need(c.OutKey != nil, "no output key function (and no route)")
	}
	need(c.Workers >= 0 && c.MaxInFlight >= 0 && c.MaxMessageBytes >= 0 && c.MaxWriteBytes >= 0 &&
		c.DeadLetterMaxBytes >= 0 && c.DrainTimeout >= 0 && c.SessionTimeout >= 0 &&
		c.HeartbeatInterval >= 0 && c.RebalanceTimeout >= 0, "negative limit")
	need(c.DeadLetterMaxBytes == 0 || c.DeadLetterMaxBytes >= 4*recordOverhead, "dead-letter limit below 4 KiB")
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
	if c.MaxWriteBytes == 0 {
		c.MaxWriteBytes = DefaultMaxWriteBytes
	}
	if c.DeadLetterMaxBytes == 0 {
		c.DeadLetterMaxBytes = DefaultMaxWriteBytes
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = 10 * time.Second
	}
	gt, err := groupTimeouts{c.SessionTimeout, c.HeartbeatInterval, c.RebalanceTimeout}.withDefaults()
	if err != nil {
		errs = append(errs, err)
	}
	c.SessionTimeout, c.HeartbeatInterval, c.RebalanceTimeout = gt.session, gt.heartbeat, gt.rebalance
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("runner config: %w", err)
	}
	return c, nil
}

func (c RunnerConfig[In, Out]) timeouts() groupTimeouts {
	return groupTimeouts{session: c.SessionTimeout, heartbeat: c.HeartbeatInterval, rebalance: c.RebalanceTimeout}
}

// Stats are a Runner's counters since it was created.
type Stats struct {
	Processed    int64 // inputs whose outputs were written and offsets committed
	Outputs      int64 // output messages written (for committed inputs)
	DeadLettered int64 // inputs written to the dead-letter topic and committed
	Errors       int64 // transient failures: Process errors, write, commit, fetch and join failures
}

// Runner consumes Input as a member of a consumer group, calls a Processor with bounded
// concurrency, writes outputs and dead letters, and commits an input only after everything it
// caused was acknowledged. See the package documentation for the delivery guarantees.
type Runner[In, Out any] struct {
	cfg     RunnerConfig[In, Out]
	proc    Processor[In, Out]      // nil when async is set
	async   AsyncProcessor[In, Out] // nil when proc is set
	log     *slog.Logger
	started atomic.Bool
	abort   chan struct{}
	once    sync.Once

	// Shared by all generations of one Run; see Run.
	credits chan struct{}
	todo    chan *slot[In]
	wake    chan struct{}
	out     *recordWriter

	processed, outputs, dead, errs atomic.Int64
}

// NewRunner validates cfg and returns a runner; nothing connects until Run.
func NewRunner[In, Out any](cfg RunnerConfig[In, Out], p Processor[In, Out]) (*Runner[In, Out], error) {
	return newRunner(cfg, p, nil)
}

// NewAsyncRunner is NewRunner for an AsyncProcessor.
func NewAsyncRunner[In, Out any](cfg RunnerConfig[In, Out], p AsyncProcessor[In, Out]) (*Runner[In, Out], error) {
	return newRunner(cfg, nil, p)
}

// newRunner takes one of p and ap.
func newRunner[In, Out any](cfg RunnerConfig[In, Out], p Processor[In, Out], ap AsyncProcessor[In, Out]) (*Runner[In, Out], error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if p == nil && ap == nil {
		return nil, errors.New("runner config: nil processor")
	}
	log := cfg.Log.With("group", cfg.Group, "input", cfg.Input)
	if cfg.Route == nil && !cfg.NoOutput {
		log = log.With("output", cfg.Output)
	}
	return &Runner[In, Out]{cfg: cfg, proc: p, async: ap, log: log, abort: make(chan struct{})}, nil
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

// generation is what the runner's goroutines know of one consumer-group generation.
type generation struct {
	kg *kafka.Generation
	// ctx ends when the generation ends (revocation, rebalance), on Abort, or when the drain time
	// after shutdown is up: it bounds Process, writes and commits.
	ctx context.Context
	// stop also ends at shutdown: it bounds fetching and the waits between Process retries.
	stop context.Context
}

// Run processes until ctx is cancelled (then drains gracefully, returning nil) or Abort is called
// (returning ErrAborted). It may be called once. While the broker cannot be reached it keeps
// trying, with backoff and a warning per attempt; a security failure (ErrSecurity: refused
// credentials, an untrusted certificate) ends it with that error.
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

	cg, err := newConsumerGroup(cfg.Cluster, cfg.Group, cfg.Input, cfg.timeouts(), r.kafkaLog(slog.LevelDebug))
	if err != nil {
		return err
	}
	r.out = newRecordWriter(cfg.Cluster, cfg.MaxWriteBytes, cfg.DeadLetterMaxBytes, r.log, func() { r.errs.Add(1) })

	// credits bound fetched but uncommitted inputs: one is taken for each fetched input and given
	// back once it is committed or dropped. Workers, credits and the writer outlive generations:
	// an input of an ended generation still holds its credit until its worker lets go of it.
	r.credits = make(chan struct{}, cfg.MaxInFlight)
	r.todo = make(chan *slot[In], cfg.MaxInFlight) // never full: one slot per credit
	r.wake = make(chan struct{}, 1)                // a slot finished
	var workers sync.WaitGroup
	for range cfg.Workers {
		workers.Go(r.work)
	}
	r.log.Info("runner started", "workers", cfg.Workers, "max_in_flight", cfg.MaxInFlight)

	joinErr := joinGenerations(stopping, cg, cfg.Cluster, r.log, func() { r.errs.Add(1) }, func(gctx context.Context, kg *kafka.Generation) {
		r.consume(gctx, kg, stopping, work)
	})

	// Close ends the generation still held (its consumer waits for that, see joinGenerations) and
	// leaves the group, so the next member gets the partitions at once.
	_ = cg.Close()
	close(r.todo)
	workers.Wait()
	_ = r.out.Close()
	r.log.Info("runner stopped", "aborted", r.aborted(), "stats", r.Stats())
	if r.aborted() {
		return ErrAborted
	}
	return joinErr
}

// consume runs one generation: a fetcher per assigned partition from its committed offset, and
// the sink, which writes and commits. When the generation ends, what it did not commit is dropped.
func (r *Runner[In, Out]) consume(gctx context.Context, kg *kafka.Generation, stopping, work context.Context) {
	genWork, cancelWork := unlessDone(work, gctx.Done())
	defer cancelWork()
	genStop, cancelStop := unlessDone(stopping, gctx.Done())
	defer cancelStop()
	g := &generation{kg: kg, ctx: genWork, stop: genStop}

	parts, assigned := assignedPartitions(kg, r.cfg.Input)
	r.log.Info("partitions assigned", "generation", kg.ID, "partitions", parts)

	fetching, stopFetching := context.WithCancel(genStop)
	defer stopFetching()
	order := make(chan *slot[In], r.cfg.MaxInFlight) // never full: one slot per credit
	var fetchers sync.WaitGroup
	for _, a := range assigned {
		fetchers.Go(func() { r.fetch(fetching, g, a.ID, a.Offset, order) })
	}
	go func() {
		fetchers.Wait()
		close(order)
	}()

	t := newTracker[In](parts)
	r.sink(g, t, order)

	stopFetching()
	left := t.takeAll()
	for s := range order { // closed once every fetcher returned
		left = append(left, s)
	}
	for _, s := range left {
		if s.drop() {
			<-r.credits
		}
	}
	if len(left) > 0 {
		r.log.Info("generation ended with uncommitted inputs; they will be redelivered", "generation", kg.ID, "inputs", len(left))
	}
}

// work is one worker: it processes slots until Run closes todo.
func (r *Runner[In, Out]) work() {
	for s := range r.todo {
		switch {
		case s.isDropped():
			s.abandoned = true
			r.complete(s)
		case r.async != nil:
			r.start(s)
		default:
			r.process(s)
			r.complete(s)
		}
	}
}

// complete publishes a slot's final result to the sink and returns its credit when the sink won't.
func (r *Runner[In, Out]) complete(s *slot[In]) {
	if s.finish() {
		<-r.credits
	}
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *Runner[In, Out]) kafkaLog(level slog.Level) kafka.LoggerFunc {
	return kafkaLogAt(r.log, level)
}

// fetch reads one partition from start in offset order, screens out undeliverable inputs, and
// hands the rest to the workers. Credits are the backpressure: it waits for one per input.
func (r *Runner[In, Out]) fetch(ctx context.Context, g *generation, partition int, start int64, order chan<- *slot[In]) {
	followPartition(ctx, r.cfg.Cluster, r.cfg.Input, partition, start, 4*r.cfg.MaxMessageBytes, r.log, func() { r.errs.Add(1) }, func(m kafka.Message) bool {
		select {
		case r.credits <- struct{}{}:
		case <-ctx.Done():
			return false
		}
		s := newSlot[In](m, g)
		r.screen(s)
		order <- s
		if s.dead == nil {
			r.todo <- s
		} else if s.finish() {
			<-r.credits
		}
		return true
	})
}

// screen dead-letters oversized, undecodable and invalid inputs, and decodes the rest.
func (r *Runner[In, Out]) screen(s *slot[In]) {
	m := s.msg
	deadLetter := func(stage, reason string) {
		dl := deadLetterMessage(m, stage, reason, r.cfg.DeadLetterMaxBytes)
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

// process calls the processor until it succeeds, fails permanently, or the runner stops or loses
// the input's partition.
func (r *Runner[In, Out]) process(s *slot[In]) {
	bo := backoff.New(100*time.Millisecond, 30*time.Second)
	for attempt := 1; ; attempt++ {
		outs, err := r.callProcess(s.gen.ctx, s.in)
		if r.settle(s, outs, err, attempt) {
			return
		}
		if bo.Wait(s.gen.stop) != nil {
			s.abandoned = true
			return
		}
	}
}

// start hands s to the asynchronous processor and returns. s completes when the processor calls
// back with a final result, or is abandoned when its generation ends first; a transient failure is
// retried after a backoff, on a goroutine of its own.
func (r *Runner[In, Out]) start(s *slot[In]) {
	var mu sync.Mutex
	ended := false
	// end applies a result under the lock unless s ended already; it reports whether s is to be
	// retried.
	end := func(apply func() bool) (retry bool) {
		mu.Lock()
		if ended {
			mu.Unlock()
			return false
		}
		ended = apply()
		mu.Unlock()
		if ended {
			r.complete(s)
		}
		return !ended
	}
	abandon := func() bool { s.abandoned = true; return true }
	stop := context.AfterFunc(s.gen.ctx, func() { end(abandon) })
	bo := backoff.New(100*time.Millisecond, 30*time.Second)
	var try func(attempt int)
	try = func(attempt int) {
		var once sync.Once
		r.callStart(s.gen.ctx, s.in, func(outs []Out, err error) {
			once.Do(func() {
				if !end(func() bool { return r.settle(s, outs, err, attempt) }) {
					stop()
					return
				}
				go func() {
					if bo.Wait(s.gen.stop) != nil {
						end(abandon)
						return
					}
					try(attempt + 1)
				}()
			})
		})
	}
	try(1)
}

// settle applies one result of the processor to s and reports whether it is final: outputs to
// write, a dead letter, or abandoned because the runner is stopping. false means retry.
func (r *Runner[In, Out]) settle(s *slot[In], outs []Out, err error, attempt int) bool {
	if err == nil {
		if s.outs, err = r.encode(outs); err == nil {
			return true
		}
		err = Permanent(err) // the processor built an output its own schema rejects: a bug, not bad luck
	}
	if IsPermanent(err) {
		dl := deadLetterMessage(s.msg, StageProcess, err.Error(), r.cfg.DeadLetterMaxBytes)
		s.dead = &dl
		r.log.Warn("dead letter", "stage", StageProcess, "reason", err.Error(), "partition", s.msg.Partition, "offset", s.msg.Offset)
		return true
	}
	if s.gen.stop.Err() != nil {
		s.abandoned = true
		return true
	}
	r.errs.Add(1)
	r.log.Warn("process failed, will retry", "attempt", attempt, "err", err, "partition", s.msg.Partition, "offset", s.msg.Offset)
	return false
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

// callStart is callProcess for the asynchronous processor: a panic in Start is a permanent failure.
func (r *Runner[In, Out]) callStart(ctx context.Context, in In, done func([]Out, error)) {
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("processor panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			done(nil, Permanent(fmt.Errorf("panic: %v", p)))
		}
	}()
	r.async.Start(ctx, in, done)
}

func (r *Runner[In, Out]) encode(outs []Out) ([]kafka.Message, error) {
	msgs := make([]kafka.Message, len(outs))
	for i, o := range outs {
		rec, err := r.record(o)
		if err != nil {
			return nil, fmt.Errorf("output %d: %w", i, err)
		}
		msgs[i] = kafka.Message{Topic: rec.Topic, Key: []byte(rec.Key), Value: rec.Value}
	}
	return msgs, nil
}

func (r *Runner[In, Out]) record(o Out) (Record, error) {
	if r.cfg.NoOutput {
		return Record{}, errors.New("an output from a runner declared NoOutput")
	}
	if r.cfg.Route == nil {
		b, err := r.cfg.OutCodec.Encode(o)
		if err != nil {
			return Record{}, fmt.Errorf("encode: %w", err)
		}
		return Record{Topic: r.cfg.Output, Key: r.cfg.OutKey(o), Value: b}, nil
	}
	rec, err := r.cfg.Route(o)
	switch {
	case err != nil:
		return Record{}, fmt.Errorf("route: %w", err)
	case rec.Topic == "":
		return Record{}, errors.New("route: no topic")
	case rec.Topic == r.cfg.Input:
		return Record{}, fmt.Errorf("route: output to the input topic %s", rec.Topic)
	}
	return rec, nil
}

// sink takes each partition's finished slots in offset order, writes their outputs and dead
// letters, then commits per partition the offset below which everything is written. It returns
// when the generation ends, the runner is aborted or out of drain time, or once fetching stopped
// and nothing more can be committed. What it leaves in t is for consume to drop.
func (r *Runner[In, Out]) sink(g *generation, t *tracker[In], order <-chan *slot[In]) {
	add := func(s *slot[In]) {
		if err := t.add(s); err != nil { // cannot happen: each fetcher reads its own partition in order
			r.log.Error("fetched input refused", "err", err)
			if s.drop() {
				<-r.credits
			}
		}
	}
	fetching := true
	for {
		// Queue every slot fetched so far, so that one batch covers all that is finished.
	queue:
		for fetching {
			select {
			case s, ok := <-order:
				if !ok {
					fetching = false
					break queue
				}
				add(s)
			default:
				break queue
			}
		}
		if batch := t.ready(); len(batch) > 0 {
			ok := r.flush(g, batch)
			for range batch { // committed, or never to be: either way done with
				<-r.credits
			}
			if !ok {
				return
			}
			continue
		}
		if !fetching && t.idle() {
			return
		}
		var more <-chan *slot[In]
		if fetching {
			more = order
		}
		select {
		case s, ok := <-more:
			if !ok {
				fetching = false
				continue
			}
			add(s)
		case <-r.wake:
		case <-g.ctx.Done():
			return
		}
	}
}

// flush writes the batch's outputs and dead letters, then commits each partition's last input with
// the generation's id. It reports false when the generation or the runner is over: nothing of the
// batch is committed then, and its inputs will be redelivered (their outputs written again).
func (r *Runner[In, Out]) flush(g *generation, batch []*slot[In]) bool {
	var items []outbound
	for _, s := range batch {
		if s.dead != nil {
			items = append(items, outbound{msg: *s.dead, input: s.msg, dead: true})
			continue
		}
		for _, m := range s.outs {
			items = append(items, outbound{msg: m, input: s.msg})
		}
	}
	if err := r.out.write(g.ctx, items); err != nil {
		return false
	}
	if !commitGeneration(g.ctx, g.kg, r.cfg.Input, commits(batch), r.log, func() { r.errs.Add(1) }) {
		return false
	}
	r.count(batch)
	return true
}

// count adds the committed slots of batch to the stats.
func (r *Runner[In, Out]) count(batch []*slot[In]) {
	for _, s := range batch {
		if s.dead != nil {
			r.dead.Add(1)
			if r.cfg.OnDeadLettered != nil {
				r.cfg.OnDeadLettered(headerValue(*s.dead, HeaderStage), 1)
			}
			continue
		}
		r.processed.Add(1)
		r.outputs.Add(int64(len(s.outs)))
	}
}
