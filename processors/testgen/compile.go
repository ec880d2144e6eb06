package testgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"unicode/utf8"
)

// Checker decides which asserts compile inside a try: block. ok[i] answers asserts[i].
type Checker interface {
	Compiles(ctx context.Context, asserts []string) (ok []bool, err error)
}

// CompileSet asks check about asserts and returns the set of those that compile.
func CompileSet(ctx context.Context, check Checker, asserts []string) (map[string]bool, error) {
	set := make(map[string]bool, len(asserts))
	if len(asserts) == 0 {
		return set, nil
	}
	ok, err := check.Compiles(ctx, asserts)
	if err != nil {
		return nil, err
	}
	if len(ok) != len(asserts) {
		return nil, fmt.Errorf("testgen: checker answered %d of %d asserts", len(ok), len(asserts))
	}
	for i, a := range asserts {
		if ok[i] {
			set[a] = true
		}
	}
	return set, nil
}

// DefaultPython is the interpreter Python uses when its Path is empty.
const DefaultPython = "/usr/bin/python3"

// Python is the Checker that runs CodeT's own check, Python's compile(), in one python3 process per
// call: isolated (-I -S: no site, no environment, no user files), standard library only. Nothing is
// executed, only compiled. The answer is exact for the interpreter's Python version.
type Python struct {
	Path string // default DefaultPython
}

// checkScript reads a JSON array of asserts and writes one '1' (compiles) or '0' per assert, after a
// 'R' that says the interpreter started. It flushes after every answer, so that if the interpreter
// itself dies on one assert, the answers before it are kept.
const checkScript = `import json, sys, warnings
warnings.simplefilter("ignore")
out = sys.stdout
out.write("R")
out.flush()
for case in json.loads(sys.stdin.buffer.read()):
    try:
        compile("try:\n    " + case.replace("\n", "\n    ") + "\nexcept:\n    pass\n", "", "exec")
        out.write("1")
    except Exception:
        out.write("0")
    out.flush()
`

// Compiles implements Checker. An assert that is not valid UTF-8 cannot be Python source and does not
// compile. One that kills the interpreter (CodeT would have died with it) counts as not compiling,
// and the check resumes after it.
func (p Python) Compiles(ctx context.Context, asserts []string) ([]bool, error) {
	ok := make([]bool, len(asserts))
	var idx []int // the asserts that go to Python
	for i, a := range asserts {
		if utf8.ValidString(a) {
			idx = append(idx, i)
		}
	}
	for len(idx) > 0 {
		answers, died, err := p.run(ctx, asserts, idx)
		for k, c := range answers {
			ok[idx[k]] = c == '1'
		}
		switch {
		case err == nil:
			return ok, nil
		case !died || ctx.Err() != nil:
			return nil, err
		}
		// The interpreter died on idx[len(answers)]: that one fails, the rest go to a new process.
		idx = idx[len(answers)+1:]
	}
	return ok, nil
}

// run checks asserts[idx...] in one process. died says the interpreter started, answered the first
// len(answers) and then failed; any other error is not worth retrying.
func (p Python) run(ctx context.Context, asserts []string, idx []int) (answers []byte, died bool, err error) {
	batch := make([]string, len(idx))
	for k, i := range idx {
		batch[k] = asserts[i]
	}
	in, err := json.Marshal(batch)
	if err != nil {
		return nil, false, err
	}
	path := p.Path
	if path == "" {
		path = DefaultPython
	}
	cmd := exec.CommandContext(ctx, path, "-I", "-S", "-c", checkScript)
	cmd.Env = []string{}
	cmd.Stdin = bytes.NewReader(in)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err = cmd.Run()
	b := out.Bytes()
	if len(b) == 0 || b[0] != 'R' {
		return nil, false, fmt.Errorf("testgen: python did not start (%s): %v: %s", path, err, tail(stderr.Bytes()))
	}
	b = b[1:]
	if len(b) > len(idx) || bytes.IndexFunc(b, func(r rune) bool { return r != '0' && r != '1' }) >= 0 {
		return nil, false, fmt.Errorf("testgen: python answered %q for %d asserts", tail(b), len(idx))
	}
	switch {
	case err != nil && len(b) < len(idx):
		return b, true, fmt.Errorf("testgen: python died after %d of %d asserts: %w: %s", len(b), len(idx), err, tail(stderr.Bytes()))
	case err != nil:
		return nil, false, fmt.Errorf("testgen: python: %w: %s", err, tail(stderr.Bytes()))
	case len(b) < len(idx):
		return nil, false, fmt.Errorf("testgen: python answered %d of %d asserts", len(b), len(idx))
	}
	return b, false, nil
}

func tail(b []byte) string {
	const n = 400
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(bytes.TrimSpace(b))
}
