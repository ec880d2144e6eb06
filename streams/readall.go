package streams

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/codeverify/codeverify/schemas"
	"github.com/segmentio/kafka-go"
)

// ReadAll reads topic from the beginning up to the end each partition had when ReadAll started,
// without a consumer group (nothing is committed). Undecodable messages are counted in bad. For a
// compacted topic it returns the records still stored, older versions of a key included when they
// have not been compacted yet: callers that want a table keep the last per key.
func ReadAll[T any](ctx context.Context, c Cluster, topic string, codec *schemas.Codec[T]) (items []T, bad int, err error) {
	err = readTopic(ctx, c, topic, func(m kafka.Message) {
		v, derr := codec.Decode(m.Value)
		if derr != nil {
			bad++
			return
		}
		items = append(items, v)
	})
	return items, bad, err
}

// DeadLetter is one message of a dead-letter topic.
type DeadLetter struct {
	// Partition and Offset are the dead letter's own position in the dead-letter topic.
	Partition       int
	Offset          int64
	Key, Value      []byte
	Reason, Stage   string
	SourceTopic     string
	SourcePartition int
	SourceOffset    int64
	// OriginalSize and OriginalSHA256 describe the whole original value; Truncated says that Value
	// is only its prefix.
	OriginalSize   int
	OriginalSHA256 string
	Truncated      bool
	// OutputTopic and OutputSize describe the output a StageWrite dead letter stands for.
	OutputTopic string
	OutputSize  int
}

// ReadDeadLetters reads a dead-letter topic (e.g. DLQTopic("candidates")) like ReadAll.
func ReadDeadLetters(ctx context.Context, c Cluster, dlqTopic string) ([]DeadLetter, error) {
	var out []DeadLetter
	err := readTopic(ctx, c, dlqTopic, func(m kafka.Message) {
		d := DeadLetter{Partition: m.Partition, Offset: m.Offset, Key: m.Key, Value: m.Value}
		for _, h := range m.Headers {
			v := string(h.Value)
			switch h.Key {
			case HeaderReason:
				d.Reason = v
			case HeaderStage:
				d.Stage = v
			case HeaderTopic:
				d.SourceTopic = v
			case HeaderPartition:
				d.SourcePartition, _ = strconv.Atoi(v)
			case HeaderOffset:
				d.SourceOffset, _ = strconv.ParseInt(v, 10, 64)
			case HeaderOriginalSize:
				d.OriginalSize, _ = strconv.Atoi(v)
			case HeaderOriginalSHA256:
				d.OriginalSHA256 = v
			case HeaderTruncated:
				d.Truncated = v == "true"
			case HeaderOutputTopic:
				d.OutputTopic = v
			case HeaderOutputSize:
				d.OutputSize, _ = strconv.Atoi(v)
			}
		}
		out = append(out, d)
	})
	return out, err
}

// readTopic calls fn for every message below each partition's high watermark as of the start;
// messages of one partition arrive in offset order.
func readTopic(ctx context.Context, c Cluster, topic string, fn func(kafka.Message)) error {
	if err := c.validate(); err != nil {
		return fmt.Errorf("read topic: %w", err)
	}
	parts, err := topicPartitions(ctx, c, topic)
	if err != nil {
		return fmt.Errorf("read %s: %w", topic, err)
	}
	// Partitions are read concurrently (each read ends with a short long-poll); fn is serialized.
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, len(parts))
	for i, p := range parts {
		wg.Go(func() {
			errs[i] = readPartition(ctx, c, topic, p, func(m kafka.Message) {
				mu.Lock()
				defer mu.Unlock()
				fn(m)
			})
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// readPartition reads one partition from its first stored offset to its end as of the call.
func readPartition(ctx context.Context, c Cluster, topic string, partition int, fn func(kafka.Message)) error {
	first, end, err := partitionOffsets(ctx, c, topic, partition)
	if err != nil {
		return fmt.Errorf("read %s/%d: %w", topic, partition, err)
	}
	// A short MaxWait: Close waits for the long-poll fetch past the end that the reader starts itself.
	return readPartitionFrom(ctx, c, topic, partition, first, end, 100*time.Millisecond, fn)
}
