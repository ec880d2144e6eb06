package streams

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/codeverify/codeverify/internal/backoff"
	"github.com/segmentio/kafka-go"
)

// Every read of one partition goes through partitionReader and, unless it fetches message by
// message itself (the runner), through readPartitionFrom.

// partitionReader reads one partition from start (an offset, kafka.FirstOffset or LastOffset)
// without a consumer group, so nothing is committed. Close waits for the long-poll fetch under way,
// which maxWait bounds; a new message ends a long poll at once whatever maxWait is. maxBytes must
// exceed the largest message, or it can never be fetched. errLog may be nil.
func partitionReader(c Cluster, topic string, partition int, start int64, maxWait time.Duration, maxBytes int, errLog kafka.Logger) (*kafka.Reader, error) {
	r := c.newReader(kafka.ReaderConfig{
		Topic: topic, Partition: partition,
		MinBytes: 1, MaxBytes: max(maxBytes, 16<<20), MaxWait: maxWait,
		QueueCapacity: 64, // what is read ahead of the caller, per partition
		ErrorLogger:   errLog,
	})
	if err := r.SetOffset(start); err != nil {
		r.Close()
		return nil, c.explain(err)
	}
	return r, nil
}

// readPartitionFrom calls fn for every message of one partition from start on, in offset order.
// With end ≥ 0 it returns nil once the message before end was read (at once when start ≥ end;
// compaction can leave offset gaps, so any offset ≥ end-1 ends it). With end < 0 it follows the
// partition until ctx ends and returns ctx.Err(). maxWait: see partitionReader.
func readPartitionFrom(ctx context.Context, c Cluster, topic string, partition int, start, end int64, maxWait time.Duration, fn func(kafka.Message)) error {
	if end >= 0 && start >= end {
		return nil
	}
	r, err := partitionReader(c, topic, partition, start, maxWait, 0, nil)
	if err != nil {
		return fmt.Errorf("read %s/%d: %w", topic, partition, err)
	}
	defer r.Close()
	for {
		// No group, so ReadMessage commits nothing.
		m, err := r.ReadMessage(ctx)
		if err != nil {
			if end < 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("read %s/%d at offset %d (end %d): %w", topic, partition, r.Offset(), end, c.explain(err))
		}
		fn(m)
		if end >= 0 && m.Offset >= end-1 {
			return nil
		}
	}
}

// followPartition is the fetch loop of the group consumers: it hands every message of one partition
// from start on to each, in offset order, until ctx ends or each returns false. A failed fetch is
// logged (and counted by failed, which may be nil) and retried with backoff; maxBytes must exceed the
// largest message.
func followPartition(ctx context.Context, c Cluster, topic string, partition int, start int64, maxBytes int, log *slog.Logger, failed func(), each func(kafka.Message) bool) {
	reader, err := partitionReader(c, topic, partition, start, 500*time.Millisecond, maxBytes, kafkaLogAt(log, slog.LevelWarn))
	if err != nil { // only a closed reader refuses an offset
		log.Error("cannot read partition", "partition", partition, "offset", start, "err", err)
		return
	}
	defer reader.Close()
	bo := backoff.New(100*time.Millisecond, 5*time.Second)
	for {
		m, err := reader.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if failed != nil {
				failed()
			}
			log.Warn("fetch failed, will retry", "partition", partition, "err", err)
			if bo.Wait(ctx) != nil {
				return
			}
			continue
		}
		bo.Reset()
		if !each(m) {
			return
		}
	}
}

// partitionOffsets returns a partition's first stored offset and its end (high watermark).
func partitionOffsets(ctx context.Context, c Cluster, topic string, partition int) (first, end int64, err error) {
	leader, err := c.dialLeader(ctx, c.Brokers[0], topic, partition)
	if err != nil {
		return 0, 0, err
	}
	defer leader.Close()
	if first, end, err = leader.ReadOffsets(); err != nil {
		return 0, 0, fmt.Errorf("offsets: %w", c.explain(err))
	}
	return first, end, nil
}

// topicPartitions returns the partition ids of topic.
func topicPartitions(ctx context.Context, c Cluster, topic string) ([]int, error) {
	conn, err := c.dial(ctx, c.Brokers[0])
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	parts, err := conn.ReadPartitions(topic)
	if err != nil {
		return nil, fmt.Errorf("partitions of %s: %w", topic, c.explain(err))
	}
	ids := make([]int, len(parts))
	for i, p := range parts {
		ids[i] = p.ID
	}
	return ids, nil
}
