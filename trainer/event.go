package trainer

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/codeverify/codeverify/streams"
)

// TopicModels announces registered model versions to running rerankers.
const TopicModels = "models"

// ModelsTopic declares the models topic: one partition (versions are totally ordered), keyed by
// version, compacted so a reranker that starts reads every version once.
func ModelsTopic() streams.Topic {
	return streams.Topic{Name: TopicModels, Partitions: 1, Key: "version", Compacted: true}
}

// ModelEvent is the models-topic message: where a new version is and what it scored. It is JSON
// until schemas/ gains a model-version Avro schema.
type ModelEvent struct {
	Version      string    `json:"version"`
	CreatedAt    time.Time `json:"created_at"`
	Path         string    `json:"path"`
	ModelSHA256  string    `json:"model_sha256"`
	DatasetHash  string    `json:"dataset_hash"`
	Tokenizer    string    `json:"tokenizer"`
	MaxLen       int       `json:"max_len"`
	CodeRevision string    `json:"code_revision"`
	Metrics      Metrics   `json:"metrics"`
}

// AnnounceModel creates the models topic if needed and publishes the event (acks=all).
func AnnounceModel(ctx context.Context, brokers []string, dir string, m Manifest) error {
	if err := streams.EnsureTopics(ctx, brokers, streams.Catalog{ModelsTopic()}); err != nil {
		return fmt.Errorf("models topic: %w", err)
	}
	ev := ModelEvent{Version: m.Version, CreatedAt: m.CreatedAt, Path: dir, ModelSHA256: m.ModelSHA256, DatasetHash: m.Dataset.Hash,
		Tokenizer: m.Tokenizer.Kind, MaxLen: m.MaxLen, CodeRevision: m.CodeRevision, Metrics: m.Metrics}
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	return streams.PublishRaw(ctx, brokers, TopicModels, []byte(m.Version), b)
}
