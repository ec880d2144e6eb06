package streams

import (
	"context"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// TailLast starts Tail at the partition's last stored message (its end when it is empty), so a
// follower of an announcement topic sees the newest announcement at once.
const TailLast int64 = -1

// Message is one stored record, for topics whose values no schemas codec reads (e.g. JSON).
type Message struct {
	Partition  int
	Offset     int64
	Time       time.Time
	Key, Value []byte
}

// Tail follows one partition of topic without a consumer group (nothing is committed) from start,
// an offset clamped to what is still stored or TailLast, and calls fn for every message in offset
// order until ctx is cancelled, when it returns ctx.Err(). A caller that resumes after an error
// passes the offset after the last message it saw.
func Tail(ctx context.Context, c Cluster, topic string, partition int, start int64, fn func(Message)) error {
	if err := c.validate(); err != nil {
		return fmt.Errorf("tail: %w", err)
	}
	first, end, err := partitionOffsets(ctx, c, topic, partition)
	if err != nil {
		return fmt.Errorf("tail %s/%d: %w", topic, partition, err)
	}
	if start == TailLast {
		start = end - 1
	}
	start = max(first, min(start, end))
	// A new message ends the long poll at once whatever MaxWait is; MaxWait only delays shutdown.
	err = readPartitionFrom(ctx, c, topic, partition, start, -1, 500*time.Millisecond, func(m kafka.Message) {
		fn(Message{Partition: m.Partition, Offset: m.Offset, Time: m.Time, Key: m.Key, Value: m.Value})
	})
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("tail: %w", err)
	}
	return err
}
