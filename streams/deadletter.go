package streams

import (
	"context"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
)

// Headers added to a dead letter; key and value are the original message's.
const (
	HeaderReason    = "dlq.reason"
	HeaderTopic     = "dlq.topic"
	HeaderPartition = "dlq.partition"
	HeaderOffset    = "dlq.offset"
	HeaderStage     = "dlq.stage"
)

// Stages at which a message can be dead-lettered.
const (
	StageDecode   = "decode"
	StageValidate = "validate"
	StageProcess  = "process"
)

// ReasonOversized is the dlq.reason of a message larger than the configured maximum.
const ReasonOversized = "oversized"

const maxReasonBytes = 1024 // a reason is for humans; keep a hostile error text from bloating the DLQ

func deadLetterMessage(src kafka.Message, stage, reason string) kafka.Message {
	if len(reason) > maxReasonBytes {
		reason = reason[:maxReasonBytes]
	}
	h := append(slices.Clone(src.Headers),
		kafka.Header{Key: HeaderReason, Value: []byte(reason)},
		kafka.Header{Key: HeaderTopic, Value: []byte(src.Topic)},
		kafka.Header{Key: HeaderPartition, Value: []byte(strconv.Itoa(src.Partition))},
		kafka.Header{Key: HeaderOffset, Value: []byte(strconv.FormatInt(src.Offset, 10))},
		kafka.Header{Key: HeaderStage, Value: []byte(stage)},
	)
	return kafka.Message{Topic: DLQTopic(src.Topic), Key: src.Key, Value: src.Value, Headers: h}
}

// backoff is jittered exponential backoff whose waits end with the context.
type backoff struct{ min, max, cur time.Duration }

func newBackoff(min, max time.Duration) *backoff { return &backoff{min: min, max: max} }

func (b *backoff) reset() { b.cur = 0 }

func (b *backoff) wait(ctx context.Context) error {
	b.cur = min(max(2*b.cur, b.min), b.max)
	// Full jitter in [cur/2, cur): replicas that failed together do not retry together.
	d := b.cur/2 + rand.N(b.cur/2+1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// drainContext returns a context that outlives ctx by d: work started before shutdown gets d to
// finish (write, commit) once ctx is cancelled.
func drainContext(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		select {
		case <-dctx.Done():
			return
		case <-ctx.Done():
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			cancel()
		case <-dctx.Done():
		}
	}()
	return dctx, cancel
}

// newGroupReader is the one consumer-group reader configuration: synchronous commits, new groups
// start at the beginning, fetches large enough for any message we accept. info (may be nil) receives
// kafka-go's informational log, the only place it tells the partition assignment (see partitions.go).
func newGroupReader(brokers []string, group, topic string, maxMessageBytes int, log, info kafka.LoggerFunc) *kafka.Reader {
	var infoLog kafka.Logger
	if info != nil {
		infoLog = info
	}
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
		Logger:         infoLog,
	})
}
