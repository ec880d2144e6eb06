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

// problemFields lists a Problem's Avro fields.
func problemFields(p *Problem) []field {
	return []field{
		{"problem_id", &p.ProblemID}, {"benchmark", &p.Benchmark}, {"split", &p.Split}, {"prompt", &p.Prompt},
		{"entry_point", &p.EntryPoint}, {"reference_code", &p.ReferenceCode}, {"test_imports", &p.TestImports},
		{"test_setup", &p.TestSetup}, {"tests", &p.Tests}, {"test_style", &p.TestStyle},
		{"test_suite_hash", &p.TestSuiteHash}, {"timeout_ms", &p.TimeoutMs},
	}
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

// promptFields lists a Prompt's Avro fields.
func promptFields(p *Prompt) []field {
	return []field{
		{"request_id", &p.RequestID}, {"problem_id", &p.ProblemID}, {"benchmark", &p.Benchmark}, {"split", &p.Split},
		{"purpose", &p.Purpose}, {"n", &p.N}, {"temperature", &p.Temperature}, {"top_p", &p.TopP}, {"max_tokens", &p.MaxTokens},
		{"seed", &p.Seed}, {"model", &p.Model}, {"created_at_ms", &p.CreatedAtMs},
	}
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

// candidateFields lists a Candidate's Avro fields.
func candidateFields(c *Candidate) []field {
	return []field{
		{"candidate_id", &c.CandidateID}, {"request_id", &c.RequestID}, {"problem_id", &c.ProblemID},
		{"benchmark", &c.Benchmark}, {"split", &c.Split}, {"sample_index", &c.SampleIndex}, {"code", &c.Code},
		{"completion", &c.Completion}, {"model", &c.Model}, {"source", &c.Source}, {"temperature", &c.Temperature},
		{"top_p", &c.TopP}, {"max_tokens", &c.MaxTokens}, {"finish_reason", &c.FinishReason},
		{"prompt_tokens", &c.PromptTokens}, {"completion_tokens", &c.CompletionTokens}, {"latency_ms", &c.LatencyMs},
	}
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

// verdictFields lists a Verdict's Avro fields.
func verdictFields(v *Verdict) []field {
	return []field{
		{"candidate_id", &v.CandidateID}, {"request_id", &v.RequestID}, {"problem_id", &v.ProblemID},
		{"benchmark", &v.Benchmark}, {"split", &v.Split}, {"model", &v.Model}, {"sample_index", &v.SampleIndex},
		{"label", &v.Label}, {"failure_kind", &v.FailureKind}, {"detail", &v.Detail},
		{"tests", recordsOf(&v.Tests, testOutcomeFields)},
		{"runtime_ms", &v.RuntimeMs}, {"executor_version", &v.ExecutorVersion}, {"test_suite_hash", &v.TestSuiteHash},
		{"code_sha256", &v.CodeSHA256}, {"executed_at_ms", &v.ExecutedAtMs},
	}
}

func testOutcomeFields(t *TestOutcome) []field {
	return []field{{"index", &t.Index}, {"passed", &t.Passed}, {"kind", &t.Kind}, {"message", &t.Message}}
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
	if c.Problem, err = newRecordCodec(SchemaText("problem"), problemFields); err != nil {
		return nil, fmt.Errorf("problem: %w", err)
	}
	// prompt_v1 is the schema before the "tests" purpose: prompts already on the topic still decode.
	if c.Prompt, err = newRecordCodec(SchemaText("prompt"), promptFields, SchemaText("prompt_v1")); err != nil {
		return nil, fmt.Errorf("prompt: %w", err)
	}
	if c.Candidate, err = newRecordCodec(SchemaText("candidate"), candidateFields); err != nil {
		return nil, fmt.Errorf("candidate: %w", err)
	}
	if c.Verdict, err = newRecordCodec(SchemaText("verdict"), verdictFields); err != nil {
		return nil, fmt.Errorf("verdict: %w", err)
	}
	if c.TestCase, err = newRecordCodec(SchemaText("testcase"), testCaseFields); err != nil {
		return nil, fmt.Errorf("test case: %w", err)
	}
	// behavior_v1 is the schema before GeneratedTestResult.shaped: its results read as not shaped.
	if c.Behavior, err = newRecordCodec(SchemaText("behavior"), behaviorFields, SchemaText("behavior_v1")); err != nil {
		return nil, fmt.Errorf("behavior: %w", err)
	}
	return &c, nil
}
