package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/codeverify/codeverify/schemas"
)

// NewEvent is the models-topic announcement of version m, registered in dir.
func NewEvent(dir string, m Manifest) schemas.ModelEvent {
	var created int64
	if !m.CreatedAt.IsZero() {
		created = m.CreatedAt.UnixNano()
	}
	return schemas.ModelEvent{Version: m.Version, CreatedAtNs: created, Path: dir, ModelSHA256: m.ModelSHA256,
		DatasetHash: m.Dataset.Hash, Tokenizer: m.Tokenizer.Kind, MaxLen: int32(m.MaxLen), CodeRevision: m.CodeRevision,
		Metrics: m.Metrics.Event()}
}

// EventTime is when the announced version was created (it orders versions).
func EventTime(ev schemas.ModelEvent) time.Time { return time.Unix(0, ev.CreatedAtNs).UTC() }

var sha256Re = regexp.MustCompile(`^[0-9a-f]{64}$`)

// DecodeEvent reads a models-topic message and checks what a reranker relies on before it touches
// the disk: a registry-safe version name (it becomes a path), a creation time (it orders versions)
// and a model checksum (what is loaded must match it). The message is Avro (schemas.ModelEvent);
// a JSON one is a legacy event (see decodeLegacyEvent).
func DecodeEvent(c *schemas.Codec[schemas.ModelEvent], b []byte) (schemas.ModelEvent, error) {
	var ev schemas.ModelEvent
	var err error
	if bytes.HasPrefix(b, []byte{0xc3, 0x01}) { // Avro single-object magic: never the start of JSON
		ev, err = c.Decode(b)
	} else {
		ev, err = decodeLegacyEvent(b)
	}
	if err != nil {
		return ev, fmt.Errorf("model event: %w", err)
	}
	switch {
	case !versionRe.MatchString(ev.Version):
		return ev, fmt.Errorf("model event: bad version %q", ev.Version)
	case ev.CreatedAtNs == 0:
		return ev, fmt.Errorf("model event %s: no created_at", ev.Version)
	case !sha256Re.MatchString(ev.ModelSHA256):
		return ev, fmt.Errorf("model event %s: model_sha256 %q is not a sha256", ev.Version, ev.ModelSHA256)
	}
	return ev, nil
}

// legacyEvent is the JSON models-topic message written before the model_event Avro schema.
//
// Deprecated: kept only because the models topic is compacted by version, so a version announced
// before the schema keeps its JSON event for as long as the topic lives. Remove it once no such
// topic is in use (or every old version was re-announced).
type legacyEvent struct {
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

// decodeLegacyEvent reads a JSON models-topic message.
//
// Deprecated: see legacyEvent.
func decodeLegacyEvent(b []byte) (schemas.ModelEvent, error) {
	var l legacyEvent
	if err := json.Unmarshal(b, &l); err != nil {
		return schemas.ModelEvent{}, fmt.Errorf("neither Avro nor a legacy JSON event: %w", err)
	}
	ev := NewEvent(l.Path, Manifest{Version: l.Version, CreatedAt: l.CreatedAt, ModelSHA256: l.ModelSHA256, MaxLen: l.MaxLen,
		CodeRevision: l.CodeRevision, Metrics: l.Metrics})
	ev.DatasetHash, ev.Tokenizer = l.DatasetHash, l.Tokenizer
	return ev, nil
}

// ErrModelMismatch means a version directory is not the one a models-topic event announced.
var ErrModelMismatch = errors.New("model does not match its announcement")

// Matches reports whether m (read from the directory the event led to, its model file already
// checked against m.ModelSHA256) is the version ev announced, byte for byte.
func Matches(ev schemas.ModelEvent, m Manifest) error {
	switch {
	case m.Version != ev.Version:
		return fmt.Errorf("%w: directory holds version %s, event announced %s", ErrModelMismatch, m.Version, ev.Version)
	case m.ModelSHA256 != ev.ModelSHA256:
		return fmt.Errorf("%w: model sha256 %s, event announced %s", ErrModelMismatch, m.ModelSHA256, ev.ModelSHA256)
	case m.CreatedAt.IsZero() || !m.CreatedAt.Equal(EventTime(ev)):
		return fmt.Errorf("%w: created %s, event announced %s", ErrModelMismatch, m.CreatedAt.Format(time.RFC3339Nano), EventTime(ev).Format(time.RFC3339Nano))
	}
	return nil
}
