package streams

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/segmentio/kafka-go"
)

// PartitionLag is how far one consumer group is behind on one partition.
type PartitionLag struct {
	Partition int
	// Committed is the group's committed offset (the next to read), -1 when it committed none.
	Committed int64
	// End is the partition's high-water mark.
	End int64
	// Lag is End less Committed; with no commit it counts from the first stored offset, since a
	// new group starts there.
	Lag int64
}

// GroupLag reads group's committed offsets on topic and the topic's high-water marks, one request
// each: cheap enough to poll for a metric. Partitions come sorted.
func GroupLag(ctx context.Context, c Cluster, group, topic string) ([]PartitionLag, error) {
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("lag: %w", err)
	}
	parts, err := topicPartitions(ctx, c, topic)
	if err != nil {
		return nil, fmt.Errorf("lag %s: %w", topic, err)
	}
	timeout := 10 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	client, tr := c.newClient(c.Brokers[0], timeout)
	defer tr.CloseIdleConnections()
	committed, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
	if err == nil {
		err = committed.Error
	}
	if errors.Is(err, kafka.GroupIdNotFound) {
		// A group that never joined (some brokers say so instead of answering -1): nothing committed.
		err, committed = nil, &kafka.OffsetFetchResponse{}
	}
	if err != nil {
		return nil, fmt.Errorf("lag %s/%s: committed offsets: %w", group, topic, c.explain(err))
	}
	reqs := make([]kafka.OffsetRequest, 0, 2*len(parts))
	for _, p := range parts {
		reqs = append(reqs, kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p))
	}
	ends, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, fmt.Errorf("lag %s: end offsets: %w", topic, c.explain(err))
	}
	byPart := map[int]kafka.PartitionOffsets{}
	for _, po := range ends.Topics[topic] {
		if po.Error != nil {
			return nil, fmt.Errorf("lag %s/%d: end offset: %w", topic, po.Partition, po.Error)
		}
		byPart[po.Partition] = po
	}
	commits := map[int]int64{}
	for _, cp := range committed.Topics[topic] {
		if cp.Error != nil {
			return nil, fmt.Errorf("lag %s/%s/%d: committed offset: %w", group, topic, cp.Partition, cp.Error)
		}
		commits[cp.Partition] = cp.CommittedOffset
	}
	out := make([]PartitionLag, 0, len(parts))
	for _, p := range parts {
		po, ok := byPart[p]
		if !ok {
			continue
		}
		at, ok := commits[p]
		if !ok {
			at = -1
		}
		from := at
		if from < 0 {
			from = po.FirstOffset
		}
		out = append(out, PartitionLag{Partition: p, Committed: at, End: po.LastOffset, Lag: max(0, po.LastOffset-from)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Partition < out[j].Partition })
	return out, nil
}
