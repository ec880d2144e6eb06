package trainer

import (
	"context"
	"fmt"

	"github.com/codeverify/codeverify/model"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/streams"
)

// AnnounceModel creates the models topic if needed and publishes m's event, Avro-encoded (acks=all).
func AnnounceModel(ctx context.Context, kafka streams.Cluster, dir string, m model.Manifest) error {
	topics, err := streams.DefaultTopology().Select(streams.TopicModels)
	if err != nil {
		return err
	}
	if err := streams.EnsureTopics(ctx, kafka, topics); err != nil {
		return fmt.Errorf("models topic: %w", err)
	}
	codec, err := schemas.NewModelEventCodec()
	if err != nil {
		return err
	}
	ev := model.NewEvent(dir, m)
	b, err := codec.Encode(ev)
	if err != nil {
		return err
	}
	return streams.PublishRaw(ctx, kafka, streams.TopicModels, []byte(schemas.ModelEventKey(ev)), b)
}
