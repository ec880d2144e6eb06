package streams

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/codeverify/codeverify/schemas"
	"github.com/segmentio/kafka-go"
)

// ReplayFrom says where a replay starts in each partition. The zero value replays from the
// beginning. Offsets win over Since for the partitions they name.
type ReplayFrom struct {
	// Since starts each partition at its first record with a timestamp ≥ Since (zero: the beginning).
	Since time.Time
	// Offsets starts the named partitions at an explicit offset (clamped to what is still stored).
	Offsets map[int]int64
}

// ConsumedRange is what a replay read of one partition; it is declared in schemas because a model's
// manifest records it as its dataset's lineage.
type ConsumedRange = schemas.ConsumedRange

// ReplayRecord is the position of one replayed event.
type ReplayRecord struct {
	Partition int
	Offset    int64
	Time      time.Time
}

// ReplayProgress is told, after every message, how many of the messages the replay will read
// (across all partitions of the topic) have been read.
type ReplayProgress func(topic string, read, total int64)

// Replay reads topic from where from says up to the end each partition had when Replay started,
// without a consumer group (nothing is committed, live groups are untouched), and calls fn for each
// decoded event; calls are serialized and in offset order within a partition. Undecodable messages
// are counted in bad and included in the ranges. The ranges, sorted by partition, record exactly
// what was consumed, so a training set can name its inputs and be rebuilt from them.
func Replay[T any](ctx context.Context, c Cluster, topic string, codec *schemas.Codec[T], from ReplayFrom, fn func(T, ReplayRecord), progress ReplayProgress) (ranges []ConsumedRange, bad int, err error) {
	if err := c.validate(); err != nil {
		return nil, 0, fmt.Errorf("replay: %w", err)
	}
	parts, err := topicPartitions(ctx, c, topic)
	if err != nil {
		return nil, 0, fmt.Errorf("replay %s: %w", topic, err)
	}
	for p := range from.Offsets {
		if !slices.Contains(parts, p) {
			return nil, 0, fmt.Errorf("replay %s: start offset given for partition %d, which does not exist", topic, p)
		}
	}
	// Bounds first, so progress knows the total before reading starts.
	ranges = make([]ConsumedRange, len(parts))
	for i, p := range parts {
		start, end, err := replayBounds(ctx, c, topic, p, from)
		if err != nil {
			return nil, 0, err
		}
		ranges[i] = ConsumedRange{Topic: topic, Partition: p, First: start, Last: -1, End: end}
	}
	var total int64
	for _, r := range ranges {
		total += max(0, r.End-r.First)
	}
	var mu sync.Mutex
	var read int64
	var wg sync.WaitGroup
	errs := make([]error, len(ranges))
	for i := range ranges {
		r := &ranges[i]
		start := r.First
		if r.End <= start {
			r.First = -1
			continue
		}
		wg.Go(func() {
			first := int64(-1)
			// A short MaxWait: Close waits for the long-poll fetch past the end that the reader starts.
			errs[i] = readPartitionFrom(ctx, c, topic, r.Partition, start, r.End, 100*time.Millisecond, func(m kafka.Message) {
				mu.Lock()
				defer mu.Unlock()
				if first < 0 {
					first = m.Offset
				}
				r.Last = m.Offset
				r.Count++
				read++
				if v, derr := codec.Decode(m.Value); derr != nil {
					bad++
				} else {
					fn(v, ReplayRecord{Partition: m.Partition, Offset: m.Offset, Time: m.Time})
				}
				if progress != nil {
					progress(topic, read, total)
				}
			})
			r.First = first
		})
	}
	wg.Wait()
	sort.Slice(ranges, func(i, j int) bool { return ranges[i].Partition < ranges[j].Partition })
	return ranges, bad, errors.Join(errs...)
}

// replayBounds returns the first offset to read and the end (exclusive) of one partition.
func replayBounds(ctx context.Context, c Cluster, topic string, partition int, from ReplayFrom) (start, end int64, err error) {
	leader, err := c.dialLeader(ctx, c.Brokers[0], topic, partition)
	if err != nil {
		return 0, 0, fmt.Errorf("replay %s/%d: %w", topic, partition, err)
	}
	defer leader.Close()
	first, end, err := leader.ReadOffsets()
	if err != nil {
		return 0, 0, fmt.Errorf("replay %s/%d: offsets: %w", topic, partition, c.explain(err))
	}
	start = first
	if off, ok := from.Offsets[partition]; ok {
		start = max(first, min(off, end))
	} else if !from.Since.IsZero() {
		at, err := leader.ReadOffset(from.Since)
		if err != nil {
			return 0, 0, fmt.Errorf("replay %s/%d: offset at %s: %w", topic, partition, from.Since.Format(time.RFC3339), err)
		}
		// A broker answers -1 (or the end) when no record is that recent.
		if at < 0 {
			at = end
		}
		start = max(first, min(at, end))
	}
	return start, end, nil
}
