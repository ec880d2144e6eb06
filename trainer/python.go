package trainer

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

//go:embed train.py
var trainScript []byte

//go:embed onnx_numpy.py
var onnxNumpyScript []byte

// DefaultPython is Debian's interpreter, where apt's python3-torch and python3-onnx live (the
// python3 on PATH may be a pyenv one without them).
const DefaultPython = "/usr/bin/python3"

// ErrNoTorch means the interpreter cannot import torch or onnx.
var ErrNoTorch = errors.New("torch and onnx are not importable")

// Event is one progress line of train.py (a JSON object with an "event" field).
type Event struct {
	Name   string
	Fields map[string]any
}

// CheckPython verifies that python can import torch and onnx and returns torch's version.
func CheckPython(ctx context.Context, python string) (string, error) {
	out, err := exec.CommandContext(ctx, python, "-c", "import torch, onnx; print(torch.__version__)").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%w by %s (%v): %s\ninstall them: apt-get install python3-torch python3-onnx (deploy/setup-debian.sh does), or pass --python pointing at an interpreter that has them (a GPU host's torch venv)",
			ErrNoTorch, python, err, lastLine(out))
	}
	return strings.TrimSpace(string(out)), nil
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// WriteScripts puts the embedded Python files (train.py and its helpers) in dir and returns
// train.py's path. Other Python code imports the model from there, so it is defined once.
func WriteScripts(dir string) (string, error) {
	if err := os.WriteFile(filepath.Join(dir, "onnx_numpy.py"), onnxNumpyScript, 0o644); err != nil {
		return "", err
	}
	p := filepath.Join(dir, "train.py")
	return p, os.WriteFile(p, trainScript, 0o644)
}

// runPython runs script with args, calling onEvent for each JSON progress line and passing every
// other stdout/stderr line to logOut. The error carries the last lines of stderr.
func runPython(ctx context.Context, python, script string, args []string, onEvent func(Event), logOut io.Writer) error {
	cmd := exec.CommandContext(ctx, python, append([]string{"-u", script}, args...)...)
	cmd.Env = append(os.Environ(), "PYTHONUNBUFFERED=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderrTail tail
	cmd.Stderr = io.MultiWriter(&stderrTail, writerOrDiscard(logOut))
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", python, err)
	}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var m map[string]any
		if bytes.HasPrefix(line, []byte("{")) && json.Unmarshal(line, &m) == nil {
			if name, ok := m["event"].(string); ok {
				delete(m, "event")
				if onEvent != nil {
					onEvent(Event{Name: name, Fields: m})
				}
				continue
			}
		}
		fmt.Fprintf(writerOrDiscard(logOut), "%s\n", line)
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("train.py: %w: %s", err, stderrTail.String())
	}
	return nil
}

func writerOrDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// tail keeps the last 2 KiB written to it.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2048 {
		t.buf = t.buf[len(t.buf)-2048:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.buf))
}
