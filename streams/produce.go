package streams

import (
	"context"
	"fmt"

	"github.com/codeverify/codeverify/schemas"
	"github.com/segmentio/kafka-go"
)

// Producer publishes typed events to one topic.
type Producer[T any] struct {
	codec     *schemas.Codec[T]
	key       func(T) string
	writer    *kafka.Writer
	transport *kafka.Transport
	cluster   Cluster
}

// NewProducer returns a producer for topic; key gives each event's message key (see the catalog).
func NewProducer[T any](c Cluster, topic string, codec *schemas.Codec[T], key func(T) string) *Producer[T] {
	w, tr := c.newWriter(topic)
	return &Producer[T]{codec: codec, key: key, transport: tr, writer: w, cluster: c}
}

// Publish encodes all items and writes them in one synchronous batch; it returns once every
// message was acknowledged by all in-sync replicas, or with the first error (some may have been
// written: publishing is at-least-once, so callers retry the whole call).
func (p *Producer[T]) Publish(ctx context.Context, items ...T) error {
	if len(items) == 0 {
		return nil
	}
	msgs := make([]kafka.Message, len(items))
	for i, it := range items {
		b, err := p.codec.Encode(it)
		if err != nil {
			return fmt.Errorf("publish to %s: item %d: %w", p.writer.Topic, i, err)
		}
		msgs[i] = kafka.Message{Key: []byte(p.key(it)), Value: b}
	}
	if err := p.writer.WriteMessages(ctx, msgs...); err != nil {
		return fmt.Errorf("publish to %s: %w", p.writer.Topic, p.cluster.explain(err))
	}
	return nil
}

// Close flushes nothing (writes are synchronous) and releases the connections.
func (p *Producer[T]) Close() error {
	err := p.writer.Close()
	p.transport.CloseIdleConnections()
	return err
}

// PublishRaw writes one message with the given bytes as they are (acks=all). It is for tools and
// tests that must put bytes no codec would produce on a topic, e.g. to exercise the dead-letter path.
func PublishRaw(ctx context.Context, c Cluster, topic string, key, value []byte) error {
	w, tr := c.newWriter(topic)
	defer tr.CloseIdleConnections()
	defer w.Close()
	if err := w.WriteMessages(ctx, kafka.Message{Key: key, Value: value}); err != nil {
		return fmt.Errorf("publish raw to %s: %w", topic, c.explain(err))
	}
	return nil
}
