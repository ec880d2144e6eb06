package trainer

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDecodeModelEventAndMatches(t *testing.T) {
	created := time.Date(2026, 11, 27, 11, 24, 14, 123456789, time.UTC)
	m := Manifest{Version: NewVersion(created, "35cc8c83aa"), CreatedAt: created, ModelSHA256: strings.Repeat("ab", 32)}
	good := ModelEvent{Version: m.Version, CreatedAt: m.CreatedAt, Path: "/models/" + m.Version, ModelSHA256: m.ModelSHA256}
	b, err := json.Marshal(good)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := DecodeModelEvent(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := ev.Matches(m); err != nil {
		t.Errorf("the announced manifest does not match its own event: %v", err)
	}

	for name, mutate := range map[string]func(*ModelEvent){
		"path traversal": func(e *ModelEvent) { e.Version = "../etc" },
		"no version":     func(e *ModelEvent) { e.Version = "" },
		"no time":        func(e *ModelEvent) { e.CreatedAt = time.Time{} },
		"short sha":      func(e *ModelEvent) { e.ModelSHA256 = "abab" },
	} {
		bad := good
		mutate(&bad)
		b, _ := json.Marshal(bad)
		if _, err := DecodeModelEvent(b); err == nil {
			t.Errorf("%s: decoded %+v", name, bad)
		}
	}
	if _, err := DecodeModelEvent([]byte("{not json")); err == nil {
		t.Error("decoded junk")
	}

	for name, mutate := range map[string]func(*Manifest){
		"other version": func(m *Manifest) { m.Version += "x" },
		"other model":   func(m *Manifest) { m.ModelSHA256 = strings.Repeat("cd", 32) },
		"no checksum":   func(m *Manifest) { m.ModelSHA256 = "" },
		"other time":    func(m *Manifest) { m.CreatedAt = m.CreatedAt.Add(time.Nanosecond) },
	} {
		other := m
		mutate(&other)
		if err := ev.Matches(other); !errors.Is(err, ErrModelMismatch) {
			t.Errorf("%s: Matches = %v, want ErrModelMismatch", name, err)
		}
	}
}
