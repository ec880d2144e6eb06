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
func ReadAll[T any](ctx context.Context, brokers []string, topic string, codec *schemas.Codec[T]) (items []T, bad int, err error) {
	err = readTopic(ctx, brokers, topic, func(m kafka.Message) {
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
	Key, Value      []byte
	Reason, Stage   string
	SourceTopic     string
	SourcePartition int
	SourceOffset    int64
}

// ReadDeadLetters reads a dead-letter topic (e.g. DLQTopic("candidates")) like ReadAll.
func ReadDeadLetters(ctx context.Context, brokers []string, dlqTopic string) ([]DeadLetter, error) {
	var out []DeadLetter
	err := readTopic(ctx, brokers, dlqTopic, func(m kafka.Message) {
		d := DeadLetter{Key: m.Key, Value: m.Value}
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
			}
		}
		out = append(out, d)
	})
	return out, err
}

// readTopic calls fn for every message below each partition's high watermark as of the start;
// messages of one partition arrive in offset order.
func readTopic(ctx context.Context, brokers []string, topic string, fn func(kafka.Message)) error {
	if len(brokers) == 0 {
		return errors.New("read topic: no brokers")
	}
	conn, err := kafka.DialContext(ctx, "tcp", brokers[0])
	if err != nil {
		return fmt.Errorf("read %s: %w", topic, err)
	}
	parts, err := conn.ReadPartitions(topic)
	conn.Close()
	if err != nil {
		return fmt.Errorf("read %s: partitions: %w", topic, err)
	}
	// Partitions are read concurrently (each read ends with a short long-poll); fn is serialized.
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, len(parts))
	for i, p := range parts {
		wg.Go(func() {
			errs[i] = readPartition(ctx, brokers, topic, p.ID, func(m kafka.Message) {
				mu.Lock()
				defer mu.Unlock()
				fn(m)
			})
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func readPartition(ctx context.Context, brokers []string, topic string, partition int, fn func(kafka.Message)) error {
	first, end, err := partitionOffsets(ctx, brokers[0], topic, partition)
	if err != nil {
		return fmt.Errorf("read %s/%d: %w", topic, partition, err)
	}
	if end <= first {
		return nil
	}
	// A short MaxWait: Close waits for the long-poll fetch past the end that the reader starts itself.
	r, err := partitionReader(brokers, topic, partition, first, 100*time.Millisecond)
	if err != nil {
		return fmt.Errorf("read %s/%d: %w", topic, partition, err)
	}
	defer r.Close()
	for {
		// No group, so ReadMessage commits nothing. Compaction can leave offset gaps, hence ≥.
		m, err := r.ReadMessage(ctx)
		if err != nil {
			return fmt.Errorf("read %s/%d at offset %d of %d: %w", topic, partition, r.Offset(), end, err)
		}
		fn(m)
		if m.Offset >= end-1 {
			return nil
		}
	}
}

// partitionOffsets returns a partition's first stored offset and its end (high watermark).
func partitionOffsets(ctx context.Context, broker, topic string, partition int) (first, end int64, err error) {
	leader, err := kafka.DialLeader(ctx, "tcp", broker, topic, partition)
	if err != nil {
		return 0, 0, err
	}
	defer leader.Close()
	if first, end, err = leader.ReadOffsets(); err != nil {
		return 0, 0, fmt.Errorf("offsets: %w", err)
	}
	return first, end, nil
}

// partitionReader reads one partition from start without a consumer group, so ReadMessage commits
// nothing. Close waits for the long-poll fetch under way, which maxWait bounds.
func partitionReader(brokers []string, topic string, partition int, start int64, maxWait time.Duration) (*kafka.Reader, error) {
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: partition, MinBytes: 1, MaxBytes: 16 << 20, MaxWait: maxWait})
	if err := r.SetOffset(start); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}
