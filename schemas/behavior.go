package schemas

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
)

// GeneratedAssert is one assert extracted from a model's generated tests, with how many of the raw
// generations contained it.
type GeneratedAssert struct {
	Code      string
	Frequency int32
}

// TestCase is a model's generated tests for one problem: model output, not ground truth.
type TestCase struct {
	TestSetID   string
	ProblemID   string
	Benchmark   string
	Model       string
	Source      string // vllm | replay
	RequestID   string
	Raw         []string
	Asserts     []GeneratedAssert
	CreatedAtMs int64
}

// TestSetID derives a test set's id from its content, so a replayed file yields the same ids.
func TestSetID(problemID, model string, raw []string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", problemID, model)
	for _, r := range raw {
		fmt.Fprintf(h, "%s\x01", r)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// TestCaseKey is the message key of a TestCase: the problem, so a problem's tests share a partition.
func TestCaseKey(t TestCase) string { return t.ProblemID }

// Validate reports why a test set cannot be used.
func (t TestCase) Validate() error {
	switch {
	case t.ProblemID == "":
		return errors.New("test case: empty problem_id")
	case t.Model == "":
		return fmt.Errorf("test case for %s: empty model", t.ProblemID)
	}
	for i, a := range t.Asserts {
		if a.Code == "" || a.Frequency < 1 {
			return fmt.Errorf("test case for %s: assert %d empty or with frequency %d", t.ProblemID, i, a.Frequency)
		}
	}
	return nil
}

func testCaseToNative(t TestCase) map[string]any {
	asserts := make([]any, len(t.Asserts))
	for i, a := range t.Asserts {
		asserts[i] = map[string]any{"code": a.Code, "frequency": a.Frequency}
	}
	return map[string]any{
		"test_set_id": t.TestSetID, "problem_id": t.ProblemID, "benchmark": t.Benchmark, "model": t.Model,
		"source": t.Source, "request_id": t.RequestID, "raw": anySlice(t.Raw), "asserts": asserts,
		"created_at_ms": t.CreatedAtMs,
	}
}

func testCaseFromNative(m map[string]any) (TestCase, error) {
	f := fields{m: m}
	t := TestCase{
		TestSetID: f.str("test_set_id"), ProblemID: f.str("problem_id"), Benchmark: f.str("benchmark"),
		Model: f.str("model"), Source: f.str("source"), RequestID: f.str("request_id"), Raw: f.strs("raw"),
		CreatedAtMs: f.i64("created_at_ms"),
	}
	for _, r := range f.records("asserts") {
		af := fields{m: r}
		t.Asserts = append(t.Asserts, GeneratedAssert{Code: af.str("code"), Frequency: af.i32("frequency")})
		if af.err != nil && f.err == nil {
			f.err = af.err
		}
	}
	return t, f.err
}

// Statuses of a generated test run against a candidate.
const (
	TestPass    = "pass"
	TestFail    = "fail"    // the assert was false
	TestError   = "error"   // raised something other than AssertionError (or the program did not load)
	TestTimeout = "timeout" // ran past its own time limit
)

// GeneratedTestResult is how one candidate did on one generated assert.
type GeneratedTestResult struct {
	TestID    string // GeneratedTestID(code): equal across candidates of a problem
	Frequency int32
	Status    string
	// Fingerprint is, for an assert the executor split into a call and an expected value, a hash
	// of what the call returned (FingerprintNone for None); "" when the call raised or timed out,
	// returned something that is not a plain value, or the assert was not split.
	Fingerprint string
	// Shaped: the assert is `f(...) == y` (one `==`, a call on the left), the shape whose returned
	// values the behaviour features compare; a fingerprint is expected unless the call failed.
	Shaped bool
}

// FingerprintNone is the fingerprint of a returned None, kept apart from the hashes of other
// values: stubs return None everywhere, so the features do not count it as an output.
const FingerprintNone = "None"

// GeneratedTestID names an assert by its content.
func GeneratedTestID(code string) string {
	sum := sha256.Sum256([]byte(code))
	return hex.EncodeToString(sum[:8])
}

// Behavior is how one candidate behaves on its problem's generated tests. The hidden tests never
// enter it.
type Behavior struct {
	CandidateID     string
	RequestID       string
	ProblemID       string
	Benchmark       string
	Split           string
	Model           string
	SampleIndex     int32
	TestsHash       string
	Results         []GeneratedTestResult
	RuntimeMs       float64
	ExecutorVersion string
	ExecutedAtMs    int64
}

// BehaviorKey is the message key of a Behavior.
func BehaviorKey(b Behavior) string { return b.CandidateID }

var testStatuses = []string{TestPass, TestFail, TestError, TestTimeout}

// Validate reports why a behaviour is not worth writing.
func (b Behavior) Validate() error {
	if b.CandidateID == "" || b.ProblemID == "" {
		return errors.New("behavior: empty candidate_id or problem_id")
	}
	for i, r := range b.Results {
		if !slices.Contains(testStatuses, r.Status) {
			return fmt.Errorf("behavior %s: result %d has status %q", b.CandidateID, i, r.Status)
		}
	}
	return nil
}

func behaviorToNative(b Behavior) map[string]any {
	results := make([]any, len(b.Results))
	for i, r := range b.Results {
		results[i] = map[string]any{"test_id": r.TestID, "frequency": r.Frequency, "status": r.Status, "fingerprint": r.Fingerprint, "shaped": r.Shaped}
	}
	return map[string]any{
		"candidate_id": b.CandidateID, "request_id": b.RequestID, "problem_id": b.ProblemID,
		"benchmark": b.Benchmark, "split": b.Split, "model": b.Model, "sample_index": b.SampleIndex,
		"tests_hash": b.TestsHash, "results": results, "runtime_ms": b.RuntimeMs,
		"executor_version": b.ExecutorVersion, "executed_at_ms": b.ExecutedAtMs,
	}
}

func behaviorFromNative(m map[string]any) (Behavior, error) {
	f := fields{m: m}
	b := Behavior{
		CandidateID: f.str("candidate_id"), RequestID: f.str("request_id"), ProblemID: f.str("problem_id"),
		Benchmark: f.str("benchmark"), Split: f.str("split"), Model: f.str("model"),
		SampleIndex: f.i32("sample_index"), TestsHash: f.str("tests_hash"), RuntimeMs: f.f64("runtime_ms"),
		ExecutorVersion: f.str("executor_version"), ExecutedAtMs: f.i64("executed_at_ms"),
	}
	for _, r := range f.records("results") {
		rf := fields{m: r}
		res := GeneratedTestResult{TestID: rf.str("test_id"), Frequency: rf.i32("frequency"), Status: rf.str("status"), Fingerprint: rf.str("fingerprint")}
		if _, ok := r["shaped"]; ok { // absent from behavior_v1
			res.Shaped = rf.boolean("shaped")
		}
		b.Results = append(b.Results, res)
		if rf.err != nil && f.err == nil {
			f.err = rf.err
		}
	}
	return b, f.err
}
