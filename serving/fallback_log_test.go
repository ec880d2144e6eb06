package serving

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"testing"
)

// TestCUDAFallbackIsOneShortInfoLine: on a host without a GPU, the automatic fallback to CPU is
// expected, not a problem: at most one short INFO line, the ONNX Runtime error only at debug.
func TestCUDAFallbackIsOneShortInfoLine(t *testing.T) {
	if _, err := os.Stat("/dev/nvidia0"); err == nil {
		t.Skip("a GPU is present: the fallback path is not what runs here")
	}
	var buf bytes.Buffer
	m := tinyModel(t)
	o := m.Options()
	o.Library, o.Provider = needORT(t), ProviderAuto
	o.Log = slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	s, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one line at info, got %d:\n%s", len(lines), buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	model, _ := rec["model"].(string) // the path is the test's temporary directory
	if rec["level"] != "INFO" || len(lines[0])-len(model) > 250 {
		t.Errorf("want a short INFO line, got %d chars: %s", len(lines[0]), lines[0])
	}
	if !strings.Contains(s.ProviderReason(), "CUDA") || len(s.ProviderReason()) > 120 {
		t.Errorf("reason %q: want a short one naming CUDA", s.ProviderReason())
	}
}
