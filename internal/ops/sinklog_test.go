package ops

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// The sink logs at most one INFO line per period, summing the batches, rows and dead letters in
// between, with the group's lag once it is known; never a line per row.
func TestSinkLogOneLinePerPeriod(t *testing.T) {
	var buf bytes.Buffer
	lagKnown := false
	l := NewSinkLog(slog.New(slog.NewJSONHandler(&buf, nil)), "verdicts", func() (int64, bool) { return 42, lagKnown })
	now := time.Unix(0, 0)
	l.now = func() time.Time { return now }
	l.Written(500) // the first batch logs at once
	for range 20 { // 20 batches over 2 s: no line
		now = now.Add(100 * time.Millisecond)
		l.Written(1000)
	}
	l.DeadLettered(3)
	lagKnown = true
	now = now.Add(3 * time.Second) // 5 s since the first line
	l.Written(250)
	l.Flush() // nothing pending: no line
	var lines []map[string]any
	for _, s := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), buf.String())
	}
	first, second := lines[0], lines[1]
	if first["level"] != "INFO" || first["rows"] != 500.0 || first["batches"] != 1.0 || first["lag"] != nil {
		t.Errorf("first line %v", first)
	}
	if second["rows"] != 20250.0 || second["batches"] != 21.0 || second["dead_lettered"] != 3.0 ||
		second["rows_total"] != 20750.0 || second["lag"] != 42.0 || second["table"] != "verdicts" {
		t.Errorf("second line %v", second)
	}
	l.DeadLettered(1)
	l.Flush() // at stop: what is pending
	if n := strings.Count(buf.String(), "\n"); n != 3 {
		t.Errorf("%d lines after the flush, want 3", n)
	}
}
