package executor

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/codeverify/codeverify/processors/executor/pyliteral"
	"github.com/codeverify/codeverify/schemas"
)

// reportSource writes the phase and test lines for both backends' harnesses: it goes in front of
// harness.py (simple) and of child.py (zygote), in one program with each.
//
//go:embed report.py
var reportSource string

// exitInfo is how the process ended, as seen from Go.
type exitInfo struct {
	timedOut, outputLimit bool
	status                syscall.WaitStatus
	cpu                   time.Duration
	maxRSS                int64 // bytes
	tail                  string
}

// frame is one result line a harness writes on fd 3 (harness.py and child.py describe them):
// phase | test | val | end for the problem's tests, then gstart | gnoload | gval | gtest | gstop |
// gend for generated tests (dual.go).
type frame struct {
	T     string          `json:"t"`
	Name  string          `json:"name"`
	I     int             `json:"i"`
	OK    bool            `json:"ok"`
	Kind  string          `json:"kind"`
	Msg   string          `json:"msg"`
	Nonce string          `json:"nonce"`
	Tests int             `json:"tests"`
	V     json.RawMessage `json:"v"` // val, gval: the canonical encoding of the value
}

// parseFrames decodes raw's lines in order, up to the first that is not a frame (err then says
// why). A last line without its newline was cut short: it is not read.
func parseFrames(raw []byte) ([]frame, error) {
	lines := bytes.Split(raw, []byte("\n"))
	frames := make([]frame, 0, len(lines)-1)
	for _, line := range lines[:len(lines)-1] {
		var f frame
		if err := json.Unmarshal(line, &f); err != nil {
			return frames, err
		}
		frames = append(frames, f)
	}
	return frames, nil
}

// judgeValue decodes the value a val or gval line reports for split item it and judges it
// against the expected value, which the sandbox never saw.
func judgeValue(it pyliteral.Item, raw json.RawMessage) (v pyliteral.Value, ok bool, why string, err error) {
	if v, err = pyliteral.Decode(raw); err != nil {
		return v, false, "", err
	}
	ok, why = it.Judge(v)
	return v, ok, why, nil
}

// harnessKind reports whether the harness may report kind k.
func harnessKind(k string) bool {
	switch k {
	case schemas.KindAssertion, schemas.KindException, schemas.KindSyntax, schemas.KindMemory:
		return true
	}
	return false
}

func exitDetail(x exitInfo) string {
	s := fmt.Sprintf("exit status %d", x.status.ExitStatus())
	if x.status.Signaled() {
		s = "killed by signal " + x.status.Signal().String()
	}
	if t := strings.TrimSpace(x.tail); t != "" {
		if len(t) > 300 {
			t = "…" + t[len(t)-300:]
		}
		s += "; output: " + t
	}
	return s
}

// labelItems decides the Result from the child's lines and how it ended (both backends). Order: a
// malformed line stream; else the first failure reported (program order); else why the process
// was stopped; else PASS only with every test's line, the end line with this run's nonce, and exit
// 0. Split items are judged here against expected values the sandbox never saw.
func (e *Executor) labelItems(raw []byte, pl plan, nonce string, x exitInfo, timeout time.Duration, cpuLimit int64) Result {
	fail := func(kind, detail string, tests []schemas.TestOutcome) Result {
		return Result{Label: schemas.Fail, Kind: kind, Detail: detail, Tests: collapse(pl, tests)}
	}
	if len(raw) > frameCap {
		return fail(schemas.KindException, "bad result frames: too large", nil)
	}
	var tests []schemas.TestOutcome
	var firstFail *schemas.TestOutcome
	var phase *frame
	var end *frame
	frames, bad := parseFrames(raw)
	for _, f := range frames {
		if end != nil {
			return fail(schemas.KindException, "bad result frames: frame after end", tests)
		}
		switch f.T {
		case "phase":
			if !harnessKind(f.Kind) || phase != nil || len(tests) > 0 {
				return fail(schemas.KindException, "bad result frames: unexpected phase frame", tests)
			}
			phase = &f
		case "test", "val":
			if phase != nil || f.I != len(tests) || len(tests) >= len(pl.items) {
				return fail(schemas.KindException, "bad result frames: unexpected test frame", tests)
			}
			it := pl.items[f.I]
			o := schemas.TestOutcome{Index: int32(f.I), Passed: true, Kind: schemas.KindNone}
			switch {
			case f.T == "test" && !f.OK: // an exception: possible on both paths
				if !harnessKind(f.Kind) {
					return fail(schemas.KindException, "bad result frames: unexpected test frame", tests)
				}
				o.Passed, o.Kind, o.Message = false, f.Kind, f.Msg
			case f.T == "test" && it.Expr != "":
				return fail(schemas.KindException, "bad result frames: a split test reported ok", tests)
			case f.T == "val":
				if it.Expr == "" {
					return fail(schemas.KindException, "bad result frames: value for a statement", tests)
				}
				_, ok, why, err := judgeValue(it, f.V)
				if err != nil {
					return fail(schemas.KindException, "bad result frames: "+err.Error(), tests)
				}
				if !ok {
					o.Passed, o.Kind, o.Message = false, schemas.KindAssertion, "AssertionError: "+why
				}
			}
			tests = append(tests, o)
			if !o.Passed && firstFail == nil {
				oo := o
				firstFail = &oo
			}
		case "end":
			end = &f
		default:
			return fail(schemas.KindException, "bad result frames: unknown frame "+f.T, tests)
		}
	}
	if bad != nil {
		return fail(schemas.KindException, "bad result frames: "+bad.Error(), tests)
	}
	switch {
	case phase != nil:
		r := fail(phase.Kind, phase.Name+": "+phase.Msg, tests)
		r.phase = phase.Name
		return r
	case firstFail != nil:
		idx := firstFail.Index
		if pl.checkStyle {
			idx = 0
		}
		return fail(firstFail.Kind, fmt.Sprintf("test %d: %s", idx, firstFail.Message), tests)
	case x.outputLimit:
		return fail(schemas.KindOutputLimit, fmt.Sprintf("output exceeded %d bytes", e.cfg.OutputBytes), tests)
	case x.timedOut:
		return fail(schemas.KindTimeout, fmt.Sprintf("wall timeout %v", timeout), tests)
	case x.status.Signaled() && (x.status.Signal() == syscall.SIGXCPU ||
		x.status.Signal() == syscall.SIGKILL && x.cpu >= time.Duration(cpuLimit)*time.Second):
		return fail(schemas.KindTimeout, fmt.Sprintf("cpu limit %ds", cpuLimit), tests)
	case x.status.Signaled() && x.maxRSS >= e.cfg.MemoryBytes/2,
		end == nil && strings.Contains(x.tail, "MemoryError"):
		return fail(schemas.KindMemory, "memory exhausted: "+exitDetail(x), tests)
	case x.status.Signaled():
		return fail(schemas.KindException, exitDetail(x), tests)
	case end == nil || len(tests) != len(pl.items) || end.Tests != len(pl.items):
		return fail(schemas.KindException, "exited before all tests ran: "+exitDetail(x), tests)
	case end.Nonce != nonce:
		return fail(schemas.KindException, "bad result frames: wrong nonce", tests)
	case x.status.ExitStatus() != 0:
		return fail(schemas.KindException, exitDetail(x), tests)
	}
	return Result{Label: schemas.Pass, Kind: schemas.KindNone, Tests: collapse(pl, tests)}
}

// collapse reports a check-style problem as its one test (check(entry_point)), as the simple
// backend does; asserts-style problems keep one outcome per assert.
func collapse(pl plan, tests []schemas.TestOutcome) []schemas.TestOutcome {
	if !pl.checkStyle || len(tests) == 0 {
		return tests
	}
	o := schemas.TestOutcome{Index: 0, Passed: true, Kind: schemas.KindNone}
	for _, t := range tests {
		if !t.Passed {
			return []schemas.TestOutcome{{Index: 0, Passed: false, Kind: t.Kind, Message: t.Message}}
		}
	}
	if len(tests) != len(pl.items) {
		return nil
	}
	return []schemas.TestOutcome{o}
}
