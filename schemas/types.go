package schemas

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Test styles of a Problem.
const (
	StyleAsserts = "asserts" // each test is a statement (MBPP assert lines)
	StyleCheck   = "check"   // tests[0] defines check(candidate); the harness calls check(entry_point)
)

// Labels and failure kinds of a Verdict.
const (
	Pass = "PASS"
	Fail = "FAIL"

	KindNone        = "none"
	KindAssertion   = "assertion"
	KindException   = "exception"
	KindSyntax      = "syntax"
	KindTimeout     = "timeout"
	KindMemory      = "memory"
	KindOutputLimit = "output_limit"
)

// Problem is a coding problem with its tests.
type Problem struct {
	ProblemID     string
	Benchmark     string
	Split         string
	Prompt        string
	EntryPoint    string
	ReferenceCode string
	TestImports   []string
	TestSetup     string
	Tests         []string
	TestStyle     string
	TestSuiteHash string
	TimeoutMs     int64
}

// SuiteHash is the content hash of everything that decides a label besides the code.
func (p Problem) SuiteHash() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00", p.TestStyle, p.EntryPoint, strings.Join(p.TestImports, "\x01"), p.TestSetup)
	for _, t := range p.Tests {
		fmt.Fprintf(h, "%s\x01", t)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Validate reports why a problem cannot be executed against.
func (p Problem) Validate() error {
	switch {
	case p.ProblemID == "":
		return fmt.Errorf("problem: empty problem_id")
	case len(p.Tests) == 0:
		return fmt.Errorf("problem %s: no tests", p.ProblemID)
	case p.TestStyle != StyleAsserts && p.TestStyle != StyleCheck:
		return fmt.Errorf("problem %s: unknown test style %q", p.ProblemID, p.TestStyle)
	case p.TestStyle == StyleCheck && p.EntryPoint == "":
		return fmt.Errorf("problem %s: check-style tests need an entry point", p.ProblemID)
	}
	return nil
}

func problemToNative(p Problem) map[string]any {
	return map[string]any{
		"problem_id": p.ProblemID, "benchmark": p.Benchmark, "split": p.Split, "prompt": p.Prompt,
		"entry_point": p.EntryPoint, "reference_code": p.ReferenceCode, "test_imports": anySlice(p.TestImports),
		"test_setup": p.TestSetup, "tests": anySlice(p.Tests), "test_style": p.TestStyle,
		"test_suite_hash": p.TestSuiteHash, "timeout_ms": p.TimeoutMs,
	}
}

func problemFromNative(m map[string]any) (Problem, error) {
	f := fields{m: m}
	p := Problem{
		ProblemID: f.str("problem_id"), Benchmark: f.str("benchmark"), Split: f.str("split"), Prompt: f.str("prompt"),
		EntryPoint: f.str("entry_point"), ReferenceCode: f.str("reference_code"), TestImports: f.strs("test_imports"),
		TestSetup: f.str("test_setup"), Tests: f.strs("tests"), TestStyle: f.str("test_style"),
		TestSuiteHash: f.str("test_suite_hash"), TimeoutMs: f.i64("timeout_ms"),
	}
	return p, f.err
}

// Prompt is a generation request for n samples of one problem.
type Prompt struct {
	RequestID   string
	ProblemID   string
	Benchmark   string
	Split       string
	Purpose     string // PurposeTrain | PurposeEval | PurposeTests
	N           int32
	Temperature float64
	TopP        float64
	MaxTokens   int32
	Seed        int64
	Model       string
	CreatedAtMs int64
}

// Purposes of a Prompt: candidates for training or evaluation, or generated tests for the problem.
const (
	PurposeTrain = "train"
	PurposeEval  = "eval"
	PurposeTests = "tests"
)

func promptToNative(p Prompt) map[string]any {
	return map[string]any{
		"request_id": p.RequestID, "problem_id": p.ProblemID, "benchmark": p.Benchmark, "split": p.Split,
		"purpose": p.Purpose, "n": p.N, "temperature": p.Temperature, "top_p": p.TopP, "max_tokens": p.MaxTokens,
		"seed": p.Seed, "model": p.Model, "created_at_ms": p.CreatedAtMs,
	}
}

func promptFromNative(m map[string]any) (Prompt, error) {
	f := fields{m: m}
	p := Prompt{
		RequestID: f.str("request_id"), ProblemID: f.str("problem_id"), Benchmark: f.str("benchmark"),
		Split: f.str("split"), Purpose: f.str("purpose"), N: f.i32("n"), Temperature: f.f64("temperature"),
		TopP: f.f64("top_p"), MaxTokens: f.i32("max_tokens"), Seed: f.i64("seed"), Model: f.str("model"),
		CreatedAtMs: f.i64("created_at_ms"),
	}
	return p, f.err
}

// Candidate is one generated program for a problem.
type Candidate struct {
	CandidateID      string
	RequestID        string
	ProblemID        string
	Benchmark        string
	Split            string
	SampleIndex      int32
	Code             string // the whole program run against the tests
	Completion       string // raw model output
	Model            string
	Source           string // vllm | replay | synthetic
	Temperature      float64
	TopP             float64
	MaxTokens        int32
	FinishReason     string
	PromptTokens     int32
	CompletionTokens int32
	LatencyMs        float64
}

// CandidateID derives a stable id from the request and the sample's position, so a redelivered
// request produces the same ids.
func CandidateID(requestID string, sampleIndex int) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%d", requestID, sampleIndex)))
	return hex.EncodeToString(sum[:16])
}

// Validate reports why a candidate can never be executed (it goes to the dead-letter topic).
func (c Candidate) Validate() error {
	switch {
	case c.CandidateID == "":
		return fmt.Errorf("candidate: empty candidate_id")
	case c.ProblemID == "":
		return fmt.Errorf("candidate %s: empty problem_id", c.CandidateID)
	}
	return nil
}

func candidateToNative(c Candidate) map[string]any {
	return map[string]any{
		"candidate_id": c.CandidateID, "request_id": c.RequestID, "problem_id": c.ProblemID,
		"benchmark": c.Benchmark, "split": c.Split, "sample_index": c.SampleIndex, "code": c.Code,
		"completion": c.Completion, "model": c.Model, "source": c.Source, "temperature": c.Temperature,
		"top_p": c.TopP, "max_tokens": c.MaxTokens, "finish_reason": c.FinishReason,
		"prompt_tokens": c.PromptTokens, "completion_tokens": c.CompletionTokens, "latency_ms": c.LatencyMs,
	}
}

func candidateFromNative(m map[string]any) (Candidate, error) {
	f := fields{m: m}
	c := Candidate{
		CandidateID: f.str("candidate_id"), RequestID: f.str("request_id"), ProblemID: f.str("problem_id"),
		Benchmark: f.str("benchmark"), Split: f.str("split"), SampleIndex: f.i32("sample_index"),
		Code: f.str("code"), Completion: f.str("completion"), Model: f.str("model"), Source: f.str("source"),
		Temperature: f.f64("temperature"), TopP: f.f64("top_p"), MaxTokens: f.i32("max_tokens"),
		FinishReason: f.str("finish_reason"), PromptTokens: f.i32("prompt_tokens"),
		CompletionTokens: f.i32("completion_tokens"), LatencyMs: f.f64("latency_ms"),
	}
	return c, f.err
}

// TestOutcome is the result of one test of a suite.
type TestOutcome struct {
	Index   int32
	Passed  bool
	Kind    string
	Message string
}

// Verdict is the execution label of one candidate.
type Verdict struct {
	CandidateID     string
	RequestID       string
	ProblemID       string
	Benchmark       string
	Split           string
	Model           string
	SampleIndex     int32
	Label           string // PASS | FAIL
	FailureKind     string
	Detail          string
	Tests           []TestOutcome
	RuntimeMs       float64
	ExecutorVersion string
	TestSuiteHash   string
	CodeSHA256      string
	ExecutedAtMs    int64
}

func verdictToNative(v Verdict) map[string]any {
	tests := make([]any, len(v.Tests))
	for i, t := range v.Tests {
		tests[i] = map[string]any{"index": t.Index, "passed": t.Passed, "kind": t.Kind, "message": t.Message}
	}
	return map[string]any{
		"candidate_id": v.CandidateID, "request_id": v.RequestID, "problem_id": v.ProblemID,
		"benchmark": v.Benchmark, "split": v.Split, "model": v.Model, "sample_index": v.SampleIndex,
		"label": v.Label, "failure_kind": v.FailureKind, "detail": v.Detail, "tests": tests,
		"runtime_ms": v.RuntimeMs, "executor_version": v.ExecutorVersion, "test_suite_hash": v.TestSuiteHash,
		"code_sha256": v.CodeSHA256, "executed_at_ms": v.ExecutedAtMs,
	}
}

func verdictFromNative(m map[string]any) (Verdict, error) {
	f := fields{m: m}
	v := Verdict{
		CandidateID: f.str("candidate_id"), RequestID: f.str("request_id"), ProblemID: f.str("problem_id"),
		Benchmark: f.str("benchmark"), Split: f.str("split"), Model: f.str("model"),
		SampleIndex: f.i32("sample_index"), Label: f.str("label"), FailureKind: f.str("failure_kind"),
		Detail: f.str("detail"), RuntimeMs: f.f64("runtime_ms"), ExecutorVersion: f.str("executor_version"),
		TestSuiteHash: f.str("test_suite_hash"), CodeSHA256: f.str("code_sha256"), ExecutedAtMs: f.i64("executed_at_ms"),
	}
	for _, r := range f.records("tests") {
		tf := fields{m: r}
		v.Tests = append(v.Tests, TestOutcome{Index: tf.i32("index"), Passed: tf.boolean("passed"), Kind: tf.str("kind"), Message: tf.str("message")})
		if tf.err != nil && f.err == nil {
			f.err = tf.err
		}
	}
	return v, f.err
}

// Codecs holds one codec per event type; build it once with NewCodecs and pass it along.
type Codecs struct {
	Problem   *Codec[Problem]
	Prompt    *Codec[Prompt]
	Candidate *Codec[Candidate]
	Verdict   *Codec[Verdict]
	TestCase  *Codec[TestCase]
	Behavior  *Codec[Behavior]
}

// NewCodecs builds the codecs of the embedded schemas.
func NewCodecs() (*Codecs, error) {
	var c Codecs
	var err error
	if c.Problem, err = NewCodec(SchemaText("problem"), problemToNative, problemFromNative); err != nil {
		return nil, fmt.Errorf("problem: %w", err)
	}
	// prompt_v1 is the schema before the "tests" purpose: prompts already on the topic still decode.
	if c.Prompt, err = NewCodec(SchemaText("prompt"), promptToNative, promptFromNative, SchemaText("prompt_v1")); err != nil {
		return nil, fmt.Errorf("prompt: %w", err)
	}
	if c.Candidate, err = NewCodec(SchemaText("candidate"), candidateToNative, candidateFromNative); err != nil {
		return nil, fmt.Errorf("candidate: %w", err)
	}
	if c.Verdict, err = NewCodec(SchemaText("verdict"), verdictToNative, verdictFromNative); err != nil {
		return nil, fmt.Errorf("verdict: %w", err)
	}
	if c.TestCase, err = NewCodec(SchemaText("testcase"), testCaseToNative, testCaseFromNative); err != nil {
		return nil, fmt.Errorf("test case: %w", err)
	}
	// behavior_v1 is the schema before GeneratedTestResult.shaped: its results read as not shaped.
	if c.Behavior, err = NewCodec(SchemaText("behavior"), behaviorToNative, behaviorFromNative, SchemaText("behavior_v1")); err != nil {
		return nil, fmt.Errorf("behavior: %w", err)
	}
	return &c, nil
}
