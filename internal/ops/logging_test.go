package ops

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestNewLogger(t *testing.T) {
	var buf bytes.Buffer
	log, err := NewLogger("warn", "json", &buf)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown", "k", 1)
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil || rec["msg"] != "shown" {
		t.Fatalf("json at warn: %q (%v)", buf.String(), err)
	}
	buf.Reset()
	log, _ = NewLogger("debug", "text", &buf)
	log.Debug("seen")
	if !strings.Contains(buf.String(), "level=DEBUG msg=seen") {
		t.Fatalf("text at debug: %q", buf.String())
	}
	for _, bad := range [][2]string{{"loud", "json"}, {"info", "xml"}} {
		if _, err := NewLogger(bad[0], bad[1], &buf); err == nil {
			t.Errorf("NewLogger(%q, %q) accepted", bad[0], bad[1])
		}
	}
}

func TestVersionNamesRevisionAndGo(t *testing.T) {
	v := Version()
	for _, want := range []string{"codeverify ", "\nrevision ", "\ngo"} {
		if !strings.Contains(v, want) {
			t.Errorf("Version() %q lacks %q", v, want)
		}
	}
}
