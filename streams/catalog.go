package streams

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/codeverify/codeverify/internal/backoff"
	"github.com/segmentio/kafka-go"
)

// Topic declares one topic of the dataflow.
type Topic struct {
	Name       string
	Partitions int
	// Key says what the message key is; producers must key by it so that per-key order and
	// compaction hold.
	Key string
	// Retention is how long records are kept; 0 keeps them forever.
	Retention time.Duration
	// Compacted keeps only the newest record per key (a table, not a log).
	Compacted bool
	// Schema names the values' Avro schema (schemas/avro/<Schema>.avsc).
	Schema string
	// DeadLetters declares the topic's dead-letter topic (DLQTopic), where its consumer groups put
	// what they can never deliver.
	DeadLetters bool
}

// Catalog is the declared set of topics, validated before anything runs.
type Catalog []Topic

// DLQTopic names the dead-letter topic of a topic.
func DLQTopic(topic string) string { return topic + ".dlq" }

// Validate checks the catalog: non-empty unique names, at least one partition, no negative retention.
func (c Catalog) Validate() error {
	seen := make(map[string]bool, len(c))
	var errs []error
	for i, t := range c {
		switch {
		case t.Name == "":
			errs = append(errs, fmt.Errorf("topic %d: empty name", i))
		case seen[t.Name]:
			errs = append(errs, fmt.Errorf("topic %s: declared twice", t.Name))
		}
		seen[t.Name] = true
		if t.Partitions < 1 {
			errs = append(errs, fmt.Errorf("topic %s: %d partitions, want ≥ 1", t.Name, t.Partitions))
		}
		if t.Retention < 0 {
			errs = append(errs, fmt.Errorf("topic %s: negative retention", t.Name))
		}
	}
	return errors.Join(errs...)
}

func (t Topic) configEntries() []kafka.ConfigEntry {
	policy := "delete"
	if t.Compacted {
		policy = "compact"
	}
	retention := int64(-1) // Kafka's "forever"
	if t.Retention > 0 {
		retention = t.Retention.Milliseconds()
	}
	return []kafka.ConfigEntry{
		{ConfigName: "cleanup.policy", ConfigValue: policy},
		{ConfigName: "retention.ms", ConfigValue: strconv.FormatInt(retention, 10)},
	}
}

// EnsureTopics creates the missing topics of the catalog. An existing topic is left as it is (its
// config is not altered), but a partition count that differs from the declaration is an error:
// keys would map to other partitions than the declaration promises. It tries each bootstrap address
// in turn and retries until ctx ends while none is reachable.
func EnsureTopics(ctx context.Context, c Cluster, topics Catalog) error {
	if err := topics.Validate(); err != nil {
		return err
	}
	if err := c.validate(); err != nil {
		return fmt.Errorf("ensure topics: %w", err)
	}
	brokers := c.Brokers
	bo := backoff.New(100*time.Millisecond, 5*time.Second)
	for attempt := 0; ; attempt++ {
		// Each attempt goes to the next bootstrap address: a dead first one must not block the rest.
		broker := brokers[attempt%len(brokers)]
		err := ensureTopicsOnce(ctx, c, broker, topics)
		if err == nil || errors.Is(err, errTopicMismatch) {
			return err
		}
		if errors.Is(err, ErrSecurity) { // retrying cannot fix credentials or certificates
			return fmt.Errorf("ensure topics on %s: %w", broker, err)
		}
		if attempt%len(brokers) < len(brokers)-1 {
			continue // try the other addresses before backing off
		}
		if werr := bo.Wait(ctx); werr != nil {
			return fmt.Errorf("ensure topics: %w (last error: %v)", werr, err)
		}
	}
}

var errTopicMismatch = errors.New("topic differs from its declaration")

func ensureTopicsOnce(ctx context.Context, c Cluster, broker string, topics Catalog) error {
	conn, err := c.dial(ctx, broker)
	if err != nil {
		return err
	}
	defer conn.Close()
	ctrl, err := conn.Controller()
	if err != nil {
		return fmt.Errorf("find controller: %w", c.explain(err))
	}
	// Topic creation must go to the controller.
	cc, err := c.dial(ctx, fmt.Sprintf("%s:%d", ctrl.Host, ctrl.Port))
	if err != nil {
		return fmt.Errorf("dial controller: %w", err)
	}
	defer cc.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = cc.SetDeadline(dl)
	}
	cfgs := make([]kafka.TopicConfig, len(topics))
	names := make([]string, len(topics))
	for i, t := range topics {
		cfgs[i] = kafka.TopicConfig{Topic: t.Name, NumPartitions: t.Partitions, ReplicationFactor: -1 /* broker default */, ConfigEntries: t.configEntries()}
		names[i] = t.Name
	}
	if err := cc.CreateTopics(cfgs...); err != nil { // kafka-go treats "already exists" as success
		return fmt.Errorf("create topics: %w", c.explain(err))
	}
	parts, err := cc.ReadPartitions(names...)
	if err != nil {
		return fmt.Errorf("read partitions: %w", c.explain(err))
	}
	count := map[string]int{}
	for _, p := range parts {
		count[p.Topic]++
	}
	for _, t := range topics {
		if count[t.Name] != t.Partitions {
			return fmt.Errorf("%w: %s has %d partitions, declared %d", errTopicMismatch, t.Name, count[t.Name], t.Partitions)
		}
	}
	return nil
}
