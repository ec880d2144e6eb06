package streams

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/codeverify/codeverify/schemas"
	"github.com/segmentio/kafka-go"
)

// BatchConfig configures RunBatches. Zero values take the documented defaults.
type BatchConfig[T any] struct {
	Brokers []string
	Group   string
	Topic   string // undecodable messages go to DLQTopic(Topic)
	Codec   *schemas.Codec[T]
	// MaxBatch is the most messages per write (default 1000).
	MaxBatch int
	// MaxWait is how long a batch may wait for more messages after its first (default 1s).
	MaxWait time.Duration
	// DrainTimeout bounds the final flush on shutdown (default 10s).
	DrainTimeout time.Duration
	Log          *slog.Logger
}

func (c BatchConfig[T]) withDefaults() (BatchConfig[T], error) {
	switch {
	case len(c.Brokers) == 0:
		return c, errors.New("batch config: no brokers")
	case c.Group == "" || c.Topic == "":
		return c, errors.New("batch config: group and topic are required")
	case c.Codec == nil:
		return c, errors.New("batch config: no codec")
	case c.MaxBatch < 0 || c.MaxWait < 0 || c.DrainTimeout < 0:
		return c, errors.New("batch config: negative limit")
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = 1000
	}
	if c.MaxWait == 0 {
		c.MaxWait = time.Second
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = 10 * time.Second
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return c, nil
}

// RunBatches consumes Topic with a consumer group and hands decoded events to write in batches of
// up to MaxBatch, or fewer once MaxWait passed since a batch's first message. A batch's offsets are
// committed only after write returned nil; a failing write is retried with backoff, never skipped,
// so write must be idempotent. Undecodable messages are dead-lettered and committed with their
// batch. On ctx cancellation the partial batch is flushed and committed within DrainTimeout, and
// RunBatches returns nil.
func RunBatches[T any](ctx context.Context, cfg BatchConfig[T], write func(ctx context.Context, batch []T) error) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	log := cfg.Log.With("group", cfg.Group, "topic", cfg.Topic)
	// Flushes and commits run on drain, which outlives ctx by DrainTimeout.
	drain, cancelDrain := drainContext(ctx, cfg.DrainTimeout)
	defer cancelDrain()

	reader := newGroupReader(cfg.Brokers, cfg.Group, cfg.Topic, 1<<20, func(msg string, args ...any) {
		log.Warn("kafka: " + fmt.Sprintf(msg, args...))
	}, nil)
	transport := &kafka.Transport{}
	dlqWriter := newWriter(cfg.Brokers, "", transport)
	dlqWriter.BatchBytes = 16 << 20
	defer func() {
		_ = reader.Close()
		_ = dlqWriter.Close()
		transport.CloseIdleConnections()
	}()

	flush := func(msgs []kafka.Message, items []T, dead []kafka.Message) error {
		// The sink first: while it is down, nothing is dead-lettered again and again on redelivery.
		if err := retry(drain, log, "batch write", func() error { return write(drain, items) }, len(items) > 0); err != nil {
			return err
		}
		if err := retry(drain, log, "dead-letter write", func() error { return dlqWriter.WriteMessages(drain, dead...) }, len(dead) > 0); err != nil {
			return err
		}
		return retry(drain, log, "commit", func() error { return reader.CommitMessages(drain, msgs...) }, true)
	}

	fetchBackoff := newBackoff(100*time.Millisecond, 5*time.Second)
	for {
		var msgs, dead []kafka.Message
		var items []T
		stopping := false
		fctx, cancel := ctx, context.CancelFunc(func() {})
		for len(msgs) < cfg.MaxBatch {
			m, err := reader.FetchMessage(fctx)
			if err != nil {
				if ctx.Err() != nil || errors.Is(err, io.EOF) {
					stopping = true
					break
				}
				if fctx.Err() != nil { // MaxWait since the batch's first message
					break
				}
				log.Warn("fetch failed", "err", err)
				if fetchBackoff.wait(ctx) != nil {
					stopping = true
					break
				}
				continue
			}
			fetchBackoff.reset()
			if len(msgs) == 0 {
				fctx, cancel = context.WithTimeout(ctx, cfg.MaxWait)
			}
			msgs = append(msgs, m)
			v, err := cfg.Codec.Decode(m.Value)
			if err != nil {
				log.Warn("dead letter", "stage", StageDecode, "reason", err.Error(), "partition", m.Partition, "offset", m.Offset)
				dead = append(dead, deadLetterMessage(m, StageDecode, err.Error()))
				continue
			}
			items = append(items, v)
		}
		cancel()
		if len(msgs) > 0 {
			if err := flush(msgs, items, dead); err != nil {
				// Only the drain deadline gets here; the batch is redelivered to the next member.
				log.Warn("batch abandoned at shutdown", "messages", len(msgs), "err", err)
				return nil
			}
		}
		if stopping {
			return nil
		}
	}
}

// retry calls fn until it succeeds or ctx ends, backing off between tries. It does nothing when
// needed is false (so callers can keep one straight sequence of steps).
func retry(ctx context.Context, log *slog.Logger, what string, fn func() error, needed bool) error {
	if !needed {
		return nil
	}
	bo := newBackoff(100*time.Millisecond, 30*time.Second)
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil {
			return nil
		}
		log.Warn(what+" failed, will retry", "attempt", attempt, "err", err)
		if werr := bo.wait(ctx); werr != nil {
			return fmt.Errorf("%s: %w (last error: %v)", what, werr, err)
		}
	}
}
