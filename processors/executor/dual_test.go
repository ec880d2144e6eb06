package executor

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/codeverify/codeverify/schemas"
)

func asserts(codes ...string) []schemas.GeneratedAssert {
	out := make([]schemas.GeneratedAssert, len(codes))
	for i, c := range codes {
		out[i] = schemas.GeneratedAssert{Code: c, Frequency: int32(i + 1)}
	}
	return out
}

func candidate(code string) schemas.Candidate {
	return schemas.Candidate{CandidateID: "c", RequestID: "r", ProblemID: "add", Model: "m", Code: code}
}

func statuses(b schemas.Behavior) []string {
	out := make([]string, len(b.Results))
	for i, r := range b.Results {
		out[i] = r.Status
	}
	return out
}

// TestDualHostileTests: generated tests that loop, exit, kill the process, flood the output,
// exhaust memory, tamper with the program's globals or the builtins, sit in uninterruptible C code
// or sleep, between sane ones. The sane ones get their right statuses, the hostile ones error or
// timeout, and the hidden verdict is what Execute gives.
func TestDualHostileTests(t *testing.T) {
	e := newExecutor(t, Config{Timeout: 2 * time.Second, CacheSize: -1, GenTestLimit: 100 * time.Millisecond, GenTotalLimit: time.Second})
	cases := []struct{ code, want string }{
		{"assert add(1, 2) == 3", schemas.TestPass},
		{"assert add(1, 1) == 3", schemas.TestFail},
		{"assert add(1, 'a') == 3", schemas.TestError},
		{"assert (lambda: [0 for _ in iter(int, 1)])() == 1", schemas.TestTimeout}, // infinite loop
		{"assert add(2, 2) == 4", schemas.TestPass},
		{"assert exit() == 1", schemas.TestError},
		{"assert __import__('sys').exit(0) == 1", schemas.TestError},
		{"raise SystemExit", schemas.TestError},
		{"assert (_ for _ in ()).throw(KeyboardInterrupt) == 1", schemas.TestError},
		{"assert __import__('os')._exit(0) == 1", schemas.TestError},
		{"assert add(3, 3) == 6", schemas.TestPass},
		{"assert print('x' * 10**7) == 1", schemas.TestFail}, // 10 MB of output, discarded
		{"assert len('x' * 10**10) == 1", schemas.TestError}, // memory bomb: MemoryError
		{"assert __import__('os').kill(__import__('os').getpid(), 9) == 1", schemas.TestError},
		{"assert 10**10**8 == 1", schemas.TestTimeout}, // long C arithmetic, but it checks for signals
		{"del add", schemas.TestPass},
		{"assert globals().update(add=lambda a, b: 0) is None", schemas.TestPass},
		{"assert add(4, 4) == 8", schemas.TestPass}, // the rebinding above was undone
		{"assert setattr(add, '__code__', (lambda a, b: -1).__code__) is None", schemas.TestPass},
		{"assert setattr(__import__('builtins'), 'abs', lambda x: 42) is None", schemas.TestPass},
		{"assert abs(-5) == 5", schemas.TestPass},               // the builtins were put back
		{"assert sum(range(10**13)) == 1", schemas.TestTimeout}, // one C loop that no signal interrupts
		{"assert __import__('time').sleep(100) is None", schemas.TestTimeout},
		{"assert add(5, 5) == 10", schemas.TestPass},
		{"assert add(-1, 1) == 0", schemas.TestPass},
	}
	var codes []string
	for _, c := range cases {
		codes = append(codes, c.code)
	}
	tests := asserts(codes...)
	p := addProblem()
	for _, code := range []string{goodAdd, "def add(a, b):\n    return a - b\n"} {
		want := e.Execute(context.Background(), p, code)
		start := time.Now()
		v, b, err := e.Dual(context.Background(), p, tests, candidate(code))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%q: %s/%s in %v: %v", code, v.Label, v.FailureKind, time.Since(start).Round(time.Millisecond), statuses(b))
		if v.Label != want.Label || v.FailureKind != firstOf(want.Kind, schemas.KindNone) && want.Label != schemas.Pass || v.Detail != want.Detail {
			t.Errorf("hidden verdict changed: %s/%s %q, Execute gives %s/%s %q", v.Label, v.FailureKind, v.Detail, want.Label, want.Kind, want.Detail)
		}
		if len(b.Results) != len(cases) {
			t.Fatalf("%d results for %d tests", len(b.Results), len(cases))
		}
		if code != goodAdd {
			continue
		}
		// (__code__ swapped on the function object itself is no rebinding: the tests after it in
		// the same process would see it, but the endless sum ends that process first, and the
		// tests after it run on a freshly loaded program.)
		for i, c := range cases {
			want := c.want
			r := b.Results[i]
			if r.Status != want {
				t.Errorf("%q: status %s, want %s", c.code, r.Status, want)
			}
			if r.TestID != schemas.GeneratedTestID(c.code) || r.Frequency != int32(i+1) {
				t.Errorf("%q: id %s frequency %d", c.code, r.TestID, r.Frequency)
			}
		}
		if b.Validate() != nil || b.TestsHash != TestsHash(tests) || b.CandidateID != "c" {
			t.Errorf("behavior fields: %+v", b)
		}
	}
	// The executor is still fine.
	if r := e.Execute(context.Background(), p, goodAdd+"\n"); r.Label != schemas.Pass {
		t.Errorf("after the hostile tests: %+v", r)
	}
}

// TestDualVerdictUnchanged: for candidates that pass, fail, raise, exit, loop or do not parse, Dual's
// verdict is Execute's, with generated tests or without.
func TestDualVerdictUnchanged(t *testing.T) {
	e := newExecutor(t, Config{Timeout: time.Second, CacheSize: -1})
	tests := asserts("assert add(1, 2) == 3", "assert add(0, 0) == 0", "assert __import__('os')._exit(3) == 1", "assert add(2, 5) == 7")
	check := schemas.Problem{ProblemID: "HumanEval/x", TestStyle: schemas.StyleCheck, EntryPoint: "add",
		Tests: []string{"def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(2, 2) == 4\n"}}
	for _, p := range []schemas.Problem{addProblem(), check} {
		for _, code := range []string{
			goodAdd, "def add(a, b):\n    return a - b\n", "def add(a, b):\n    raise ValueError\n",
			goodAdd + "exit(0)\n", "import os\n" + goodAdd + "os._exit(0)\n", "def add(a, b):\n    while True:\n        pass\n",
			"def add(a, b) return a\n", "", "import sys\ndef add(a, b):\n    sys.exit(0)\n",
			"print('x' * 3_000_000)\n" + goodAdd,
		} {
			want := e.Execute(context.Background(), p, code)
			for _, ts := range [][]schemas.GeneratedAssert{nil, tests} {
				v, b, err := e.Dual(context.Background(), p, ts, candidate(code))
				if err != nil {
					t.Fatal(err)
				}
				if v.Label != want.Label || v.Detail != want.Detail || len(v.Tests) != len(want.Tests) {
					t.Errorf("%s %q with %d tests: %s/%s %q, Execute gives %s/%s %q", p.ProblemID, code, len(ts), v.Label, v.FailureKind, v.Detail, want.Label, want.Kind, want.Detail)
				}
				if len(b.Results) != len(ts) {
					t.Errorf("%q: %d results for %d tests", code, len(b.Results), len(ts))
				}
				if len(ts) > 0 && (code == "" || code == "def add(a, b) return a\n") {
					for _, r := range b.Results {
						if r.Status != schemas.TestError {
							t.Errorf("%q does not load: status %s, want error", code, r.Status)
						}
					}
				}
			}
		}
	}
}

// TestDualHiddenTestsNeverEnter: the same candidate and generated tests under two different
// hidden suites give identical results, even for a program whose state the hidden tests change.
func TestDualHiddenTestsNeverEnter(t *testing.T) {
	e := newExecutor(t, Config{CacheSize: -1})
	// add counts its calls: the hidden tests' calls must not show in the generated tests.
	code := "calls = []\ndef add(a, b):\n    calls.append(1)\n    return a + b + len(calls) // 3\n"
	tests := asserts("assert add(1, 2) == 3", "assert add(1, 2) == 3", "assert add(1, 2) == 3", "assert len(calls) == 1",
		"assert add(2, 2) == 4", "assert add(0, 0) in (0, 1)")
	suiteA := addProblem()
	suiteB := schemas.Problem{ProblemID: "add", TestStyle: schemas.StyleCheck, EntryPoint: "add",
		TestImports: []string{"import math"}, TestSetup: "BASE = 10",
		Tests: []string{"def check(candidate):\n    for i in range(50):\n        assert candidate(i, BASE) >= 0\n"}}
	vA, bA, err := e.Dual(context.Background(), suiteA, tests, candidate(code))
	if err != nil {
		t.Fatal(err)
	}
	vB, bB, err := e.Dual(context.Background(), suiteB, tests, candidate(code))
	if err != nil {
		t.Fatal(err)
	}
	if vA.TestSuiteHash == vB.TestSuiteHash {
		t.Fatal("the two hidden suites are the same")
	}
	if !reflect.DeepEqual(bA.Results, bB.Results) || bA.TestsHash != bB.TestsHash {
		t.Errorf("behaviour depends on the hidden tests:\n%+v\n%+v", bA.Results, bB.Results)
	}
	t.Logf("suite A %s/%s, suite B %s/%s, results %v", vA.Label, vA.FailureKind, vB.Label, vB.FailureKind, statuses(bA))
	if got := statuses(bA); !reflect.DeepEqual(got, []string{schemas.TestPass, schemas.TestPass, schemas.TestFail, schemas.TestFail, schemas.TestFail, schemas.TestPass}) {
		// Calls 1 and 2 return 3, the third returns 4; len(calls) is 3 by then.
		t.Errorf("statuses %v", got)
	}
}

// TestDualFingerprints: equal for candidates returning equal values (as Python's == sees them),
// different otherwise, empty when the call raised or the assert is not of the form f(x) == y.
func TestDualFingerprints(t *testing.T) {
	e := newExecutor(t, Config{})
	tests := asserts("assert add(1, 2) == 3", "assert add(2, 2) == 5", "assert add(1, 'a') == 3", "assert add(1, 2) in (3, 4)",
		"assert add([1], [2]) == [1, 2]")
	run := func(code string) schemas.Behavior {
		_, b, err := e.Dual(context.Background(), addProblem(), tests, candidate(code))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	plus := run(goodAdd)
	summed := run("def add(a, b):\n    r = a\n    r += b\n    return r\n")
	float := run("def add(a, b):\n    if isinstance(a, list):\n        return a + b\n    return float(a + b)\n")
	minus := run("def add(a, b):\n    return a - b\n")
	for i := range tests {
		if plus.Results[i] != summed.Results[i] {
			t.Errorf("test %d: same values, different results: %+v %+v", i, plus.Results[i], summed.Results[i])
		}
	}
	if plus.Results[0].Fingerprint == "" || plus.Results[0].Fingerprint != float.Results[0].Fingerprint {
		t.Errorf("3 and 3.0 are equal in Python: %q %q", plus.Results[0].Fingerprint, float.Results[0].Fingerprint)
	}
	if plus.Results[0].Fingerprint == minus.Results[0].Fingerprint || plus.Results[1].Fingerprint == minus.Results[1].Fingerprint {
		t.Error("different values, same fingerprint")
	}
	if plus.Results[1].Status != schemas.TestFail || plus.Results[1].Fingerprint == "" {
		t.Errorf("a failing f(x) == y still has its value's fingerprint: %+v", plus.Results[1])
	}
	if r := plus.Results[2]; r.Status != schemas.TestError || r.Fingerprint != "" {
		t.Errorf("raised: %+v", r)
	}
	if r := plus.Results[3]; r.Status != schemas.TestPass || r.Fingerprint != "" {
		t.Errorf("not f(x) == y: %+v", r)
	}
	if r := plus.Results[4]; r.Status != schemas.TestPass || r.Fingerprint == "" || r.Fingerprint == plus.Results[0].Fingerprint {
		t.Errorf("list value: %+v", r)
	}
	for i, want := range []bool{true, true, true, false, true} {
		if plus.Results[i].Shaped != want {
			t.Errorf("test %d shaped %v, want %v", i, plus.Results[i].Shaped, want)
		}
	}
}

// TestDualShapedAndNone: Shaped marks exactly the `f(...) == literal` asserts, whatever the
// candidate does (raising, not loading); a returned None has the fingerprint FingerprintNone.
func TestDualShapedAndNone(t *testing.T) {
	e := newExecutor(t, Config{})
	tests := asserts("assert add(1, 2) == 3", "assert (add(1, 2) == 3), 'msg'", "assert 3 == add(1, 2)",
		"assert add(1, 2)[0] == 3", "assert add(1, 2) is None", "assert add(1, 2) == g(3)", "assert add(1, 2) == None")
	wantShaped := []bool{true, true, false, false, false, false, true}
	run := func(code string) schemas.Behavior {
		_, b, err := e.Dual(context.Background(), addProblem(), tests, candidate(code))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	stub := run("def add(a, b):\n    pass\n")
	good := run(goodAdd)
	raises := run("def add(a, b):\n    raise ValueError\n")
	broken := run("def add(a, b)\n    return a + b\n")
	for name, b := range map[string]schemas.Behavior{"stub": stub, "good": good, "raises": raises, "broken": broken} {
		for i, r := range b.Results {
			if r.Shaped != wantShaped[i] {
				t.Errorf("%s: test %d (%s) shaped %v", name, i, tests[i].Code, r.Shaped)
			}
		}
	}
	if want := []string{"fail", "fail", "fail", "error", "pass", "error", "pass"}; !reflect.DeepEqual(statuses(stub), want) {
		t.Errorf("stub statuses %v, want %v", statuses(stub), want)
	}
	for _, i := range []int{0, 1, 2, 4, 6} {
		if r := stub.Results[i]; r.Fingerprint != schemas.FingerprintNone {
			t.Errorf("stub test %d: fingerprint %q, want %q", i, r.Fingerprint, schemas.FingerprintNone)
		}
	}
	for i, r := range good.Results[:3] {
		if r.Status != schemas.TestPass || r.Fingerprint == "" || r.Fingerprint == schemas.FingerprintNone || r.Fingerprint != good.Results[0].Fingerprint {
			t.Errorf("good test %d: %+v", i, r)
		}
	}
	for name, b := range map[string]schemas.Behavior{"raises": raises, "broken": broken} {
		for i, r := range b.Results {
			if r.Status != schemas.TestError || r.Fingerprint != "" {
				t.Errorf("%s test %d: %+v", name, i, r)
			}
		}
	}
}

// TestDualCache: a cached dual result answers the same candidate again with the same verdict and
// behaviour, and fills the verdict cache; a different test set is another entry.
func TestDualCache(t *testing.T) {
	e := newExecutor(t, Config{})
	base := e.CacheStats() // the start-up probe
	tests := asserts("assert add(1, 2) == 3", "assert add(1, 1) == 3")
	_, b1, err := e.Dual(context.Background(), addProblem(), tests, candidate(goodAdd))
	if err != nil {
		t.Fatal(err)
	}
	v2, b2, err := e.Dual(context.Background(), addProblem(), tests, candidate(goodAdd+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(b1.Results, b2.Results) || v2.Label != schemas.Pass {
		t.Errorf("cached: %+v %+v", b1.Results, b2.Results)
	}
	if st := e.CacheStats(); st.Executed != base.Executed+1 || st.MemoryHits != base.MemoryHits+1 {
		t.Errorf("stats %+v", st)
	}
	if r := e.Execute(context.Background(), addProblem(), goodAdd); r.Label != schemas.Pass || e.CacheStats().MemoryHits != base.MemoryHits+2 {
		t.Errorf("the verdict cache was not filled: %+v %+v", r, e.CacheStats())
	}
	_, b3, err := e.Dual(context.Background(), addProblem(), tests[:1], candidate(goodAdd))
	if err != nil || len(b3.Results) != 1 || e.CacheStats().Executed != base.Executed+2 {
		t.Errorf("another test set: %+v %v %+v", b3, err, e.CacheStats())
	}
}

func TestDualSimpleBackendAndProcessor(t *testing.T) {
	simple := newExecutor(t, Config{Backend: BackendSimple})
	if _, _, err := simple.Dual(context.Background(), addProblem(), asserts("assert add(1, 2) == 3"), candidate(goodAdd)); !errors.Is(err, ErrDualUnsupported) {
		t.Errorf("simple backend: %v", err)
	}
	v, b, err := simple.Dual(context.Background(), addProblem(), nil, candidate(goodAdd))
	if err != nil || v.Label != schemas.Pass || len(b.Results) != 0 || b.CandidateID != "c" {
		t.Errorf("simple backend without tests: %+v %+v %v", v, b, err)
	}

	proc := &DualProcessor{Exec: newExecutor(t, Config{}), Problems: problemMap{"add": addProblem(), "sub": addProblem()},
		Tests: testMap{"add": asserts("assert add(1, 2) == 3")}}
	out, err := proc.Process(context.Background(), candidate(goodAdd))
	if err != nil || len(out) != 2 || out[0].Verdict == nil || out[0].Behavior != nil || out[1].Behavior == nil ||
		out[0].Verdict.Label != schemas.Pass || len(out[1].Behavior.Results) != 1 || out[1].Behavior.Results[0].Status != schemas.TestPass {
		t.Errorf("dual processor: %+v %v", out, err)
	}
	c := candidate(goodAdd)
	c.ProblemID = "sub" // no generated tests yet: the verdict alone
	if out, err := proc.Process(context.Background(), c); err != nil || len(out) != 1 || out[0].Verdict == nil {
		t.Errorf("without tests: %+v %v", out, err)
	}
	c.ProblemID = "nope"
	if _, err := proc.Process(context.Background(), c); !errors.Is(err, ErrUnknownProblem) {
		t.Errorf("unknown problem: %v", err)
	}
}

type testMap map[string][]schemas.GeneratedAssert

func (m testMap) GeneratedTests(id string) ([]schemas.GeneratedAssert, bool) {
	ts, ok := m[id]
	return ts, ok
}

// BenchmarkDual: one candidate with 100 generated asserts, against Execute alone.
func BenchmarkDual(b *testing.B) {
	e := newExecutor(b, Config{CacheSize: -1})
	var codes []string
	for i := 0; i < 100; i++ {
		codes = append(codes, "assert add("+strconv.Itoa(i)+", 1) == "+strconv.Itoa(i+1+i%3))
	}
	tests := asserts(codes...)
	b.Run("execute", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			e.Execute(context.Background(), addProblem(), goodAdd)
		}
	})
	b.Run("dual100", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, _, err := e.Dual(context.Background(), addProblem(), tests, candidate(goodAdd)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
