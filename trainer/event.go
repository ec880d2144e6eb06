package trainer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
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

var sha256Re = regexp.MustCompile(`^[0-9a-f]{64}$`)

// DecodeModelEvent reads a models-topic message and checks what a reranker relies on before it
// touches the disk: a registry-safe version name (it becomes a path), a creation time (it orders
// versions) and a model checksum (what is loaded must match it).
func DecodeModelEvent(b []byte) (ModelEvent, error) {
	var ev ModelEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		return ev, fmt.Errorf("model event: %w", err)
	}
	switch {
	case !versionRe.MatchString(ev.Version):
		return ev, fmt.Errorf("model event: bad version %q", ev.Version)
	case ev.CreatedAt.IsZero():
		return ev, fmt.Errorf("model event %s: no created_at", ev.Version)
	case !sha256Re.MatchString(ev.ModelSHA256):
		return ev, fmt.Errorf("model event %s: model_sha256 %q is not a sha256", ev.Version, ev.ModelSHA256)
	}
	return ev, nil
}

// ErrModelMismatch means a version directory is not the one a models-topic event announced.
var ErrModelMismatch = errors.New("model does not match its announcement")

// Matches reports whether m (read from the directory the event led to, its model file already
// checked against m.ModelSHA256) is the version the event announced, byte for byte.
func (e ModelEvent) Matches(m Manifest) error {
	switch {
	case m.Version != e.Version:
		return fmt.Errorf("%w: directory holds version %s, event announced %s", ErrModelMismatch, m.Version, e.Version)
	case m.ModelSHA256 != e.ModelSHA256:
		return fmt.Errorf("%w: model sha256 %s, event announced %s", ErrModelMismatch, m.ModelSHA256, e.ModelSHA256)
	case !m.CreatedAt.Equal(e.CreatedAt):
		return fmt.Errorf("%w: created %s, event announced %s", ErrModelMismatch, m.CreatedAt.Format(time.RFC3339Nano), e.CreatedAt.Format(time.RFC3339Nano))
	}
	return nil
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
