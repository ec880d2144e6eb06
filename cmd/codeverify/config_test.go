package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/codeverify/codeverify/internal/config"
)

func TestConfigUnknownKeyNamesKeyAndLine(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte("brokers: [a:9092]\nclickhouse:\n  addr: x:9000\n  databse: y\nsink:\n  max_bach: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := config.Load(p, func(string) string { return "" })
	if err == nil {
		t.Fatal("unknown keys accepted")
	}
	msg := err.Error()
	for _, want := range []string{"config " + p + " line 4: unknown key \"databse\"", "line 6: unknown key \"max_bach\""} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "struct") || strings.Contains(msg, "\n") {
		t.Errorf("error %q: want one line without Go types", msg)
	}
}
