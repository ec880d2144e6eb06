package progress

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A log (a buffer, a file) gets plain lines, never "\r" frames, and few of them: one per tenth of
// the job plus the last, however many steps there are.
func TestNonTerminalWritesBoundedPlainLines(t *testing.T) {
	var buf bytes.Buffer
	r := New(&buf, "replay verdicts", 100_000)
	for i := 0; i < 100_000; i++ {
		r.Add(1)
	}
	r.Finish()
	out := buf.String()
	if strings.Contains(out, "\r") {
		t.Fatalf("output has \\r: %q", out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) < 2 || len(lines) > 11 {
		t.Fatalf("%d lines, want 2..11:\n%s", len(lines), out)
	}
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "replay verdicts 100000/100000 (100%") {
		t.Fatalf("last line %q", last)
	}
}

func TestFileIsNotATerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) {
		t.Fatal("a regular file is a terminal")
	}
	r := New(f, "labelled", 50)
	for i := int64(1); i <= 30; i++ {
		r.Set(i)
	}
	r.Finish() // cut short: the last line says how far it got
	r.Finish()
	b, _ := os.ReadFile(f.Name())
	if bytes.ContainsRune(b, '\r') {
		t.Fatalf("file has \\r: %q", b)
	}
	if !bytes.Contains(b, []byte("labelled 30/50 (60%")) {
		t.Fatalf("no final 30/50 line:\n%s", b)
	}
}

// A slow job still says something every period, even within one tenth.
func TestPlainLineEveryPeriod(t *testing.T) {
	var buf bytes.Buffer
	r := New(&buf, "executed", 1000)
	now := time.Unix(0, 0)
	r.now = func() time.Time { return now }
	r.start, r.lastLine = now, now
	r.Set(1) // the first tenth starts: one line
	for i := int64(2); i <= 50; i++ {
		now = now.Add(time.Second)
		r.Set(i) // still in the first tenth: a line only every 5 s
	}
	if n := strings.Count(buf.String(), "\n"); n != 1+49/5 {
		t.Fatalf("%d lines, want %d:\n%s", n, 1+49/5, buf.String())
	}
}

func TestNilReporterIgnoresCalls(t *testing.T) {
	r := New(nil, "x", 10)
	r.Add(1)
	r.Set(5)
	r.Finish()
}
