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
	// DeadLetterMaxBytes bounds a dead letter as in RunnerConfig (default DefaultMaxWriteBytes).
	DeadLetterMaxBytes int
	Log                *slog.Logger
}

func (c BatchConfig[T]) withDefaults() (BatchConfig[T], error) {
	switch {
	case len(c.Brokers) == 0:
		return c, errors.New("batch config: no brokers")
	case c.Group == "" || c.Topic == "":
		return c, errors.New("batch config: group and topic are required")
	case c.Codec == nil:
		return c, errors.New("batch config: no codec")
	case c.MaxBatch < 0 || c.MaxWait < 0 || c.DrainTimeout < 0 || c.DeadLetterMaxBytes < 0:
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
	if c.DeadLetterMaxBytes == 0 {
		c.DeadLetterMaxBytes = DefaultMaxWriteBytes
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
	})
	// Dead letters are sized to fit and never retried forever (see recordWriter).
	dlqWriter := newRecordWriter(cfg.Brokers, cfg.DeadLetterMaxBytes, cfg.DeadLetterMaxBytes, log, nil)
	defer func() {
		_ = reader.Close()
		_ = dlqWriter.Close()
	}()

	flush := func(msgs []kafka.Message, items []T, dead []outbound) error {
		// The sink first: while it is down, nothing is dead-lettered again and again on redelivery.
		if err := retry(drain, log, "batch write", func() error { return write(drain, items) }, len(items) > 0); err != nil {
			return err
		}
		if err := dlqWriter.write(drain, dead); err != nil {
			return fmt.Errorf("dead-letter write: %w", err)
		}
		return retry(drain, log, "commit", func() error { return reader.CommitMessages(drain, msgs...) }, true)
	}

	fetchBackoff := newBackoff(100*time.Millisecond, 5*time.Second)
	for {
		var msgs []kafka.Message
		var dead []outbound
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
				dead = append(dead, outbound{msg: deadLetterMessage(m, StageDecode, err.Error(), cfg.DeadLetterMaxBytes), input: m, dead: true})
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

// newGroupReader is RunBatches' consumer-group reader: synchronous commits, new groups start at the
// beginning, fetches large enough for any message we accept. A commit can reach a partition revoked
// a moment before; as every fetched message is written before its batch is committed, that can
// only cause duplicates, never a loss.
func newGroupReader(brokers []string, group, topic string, maxMessageBytes int, log kafka.LoggerFunc) *kafka.Reader {
	return kafka.NewReader(kafka.ReaderConfig{
		Brokers:        brokers,
		GroupID:        group,
		Topic:          topic,
		MinBytes:       1,
		MaxBytes:       max(4*maxMessageBytes, 16<<20), // must exceed the largest message, or it can never be fetched
		MaxWait:        500 * time.Millisecond,
		CommitInterval: 0, // CommitMessages returns once the broker stored the offsets
		StartOffset:    kafka.FirstOffset,
		ErrorLogger:    log,
	})
}
