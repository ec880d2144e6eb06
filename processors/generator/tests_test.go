package generator

import (
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/codeverify/codeverify/processors/generator/openaifake"
	"github.com/codeverify/codeverify/processors/testgen"
	"github.com/codeverify/codeverify/schemas"
)

func newTestProcessor(t *testing.T, srv *openaifake.Server) *TestProcessor {
	t.Helper()
	if _, err := os.Stat(testgen.DefaultPython); err != nil {
		t.Skipf("no %s: %v", testgen.DefaultPython, err)
	}
	tp, err := NewTestProcessor(Config{BaseURL: srv.BaseURL(), Models: testModels(t, 4), Problems: testProblems(), MaxAttempts: 2,
		BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond, RequestTimeout: 2 * time.Second}, testgen.Python{})
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

func testsPrompt(model string, n int32) schemas.Prompt {
	return schemas.Prompt{RequestID: "req-tests", ProblemID: "HumanEval/0", Benchmark: "humaneval", Split: "test",
		Purpose: schemas.PurposeTests, N: n, Model: model}
}

func TestTestsFromABaseModel(t *testing.T) {
	srv := openaifake.New(openaifake.Options{Respond: func(r openaifake.Request, i int) (string, string) {
		if i%2 == 0 {
			return "has_close_elements([1.0, 2.0], 0.5) == False\nassert has_close_elements([], 1.0) == False\n\n# more tests\nprint(1)", "stop"
		}
		// The first assert again, one that does not compile, one about another function.
		return "has_close_elements([1.0, 2.0], 0.5) == False\nassert has_close_elements([1.0,, 2.0) == 1\nassert other(1) == 2\n", "length"
	}})
	defer srv.Close()
	tp := newTestProcessor(t, srv)
	out, err := tp.Process(context.Background(), testsPrompt(baseModel, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 {
		t.Fatalf("%d test sets", len(out))
	}
	tc := out[0]
	want := []schemas.GeneratedAssert{
		{Code: "assert has_close_elements([1.0, 2.0], 0.5) == False", Frequency: 100},
		{Code: "assert has_close_elements([], 1.0) == False", Frequency: 50},
	}
	if !reflect.DeepEqual(tc.Asserts, want) {
		t.Fatalf("asserts %+v, want %+v", tc.Asserts, want)
	}
	if err := tc.Validate(); err != nil || len(tc.Raw) != 100 || tc.Model != baseModel || tc.RequestID != "req-tests" ||
		tc.Source != "vllm" || tc.Benchmark != "humaneval" || tc.TestSetID != schemas.TestSetID("HumanEval/0", baseModel, tc.Raw) {
		t.Fatalf("test set %+v: %v", tc, err)
	}
	reqs := srv.Requests()
	if len(reqs) != 25 { // the model's max_n of 4 splits CodeT's 100 samples
		t.Fatalf("%d requests, want 25", len(reqs))
	}
	r := reqs[0]
	if r.Endpoint != "completion" || r.Prompt != testgen.Prompt(hePrompt, "has_close_elements") || len(r.Stop) != 0 ||
		r.MaxTokens != 300 || r.Temperature == nil || *r.Temperature != 0.8 {
		t.Fatalf("request %+v", r)
	}
}

func TestTestsFromAChatModel(t *testing.T) {
	srv := openaifake.New(openaifake.Options{Respond: func(r openaifake.Request, i int) (string, string) {
		if i == 0 {
			return "I cannot help with that.", "stop"
		}
		return "Here are some tests:\n```python\nassert has_close_elements([1.0, 2.8], 0.5) == False\nassert has_close_elements([1.0, 1.1], 0.5) == True\n```\nThey cover both outcomes.", "stop"
	}})
	defer srv.Close()
	tp := newTestProcessor(t, srv)
	p := testsPrompt(chatModel, 3)
	p.Temperature, p.MaxTokens = 0.5, 128 // the prompt's own values win over the model's settings
	out, err := tp.Process(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	want := []schemas.GeneratedAssert{
		{Code: "assert has_close_elements([1.0, 2.8], 0.5) == False", Frequency: 2},
		{Code: "assert has_close_elements([1.0, 1.1], 0.5) == True", Frequency: 2},
	}
	if len(out) != 1 || !reflect.DeepEqual(out[0].Asserts, want) {
		t.Fatalf("test sets %+v, want asserts %+v", out, want)
	}
	if raw := out[0].Raw[1]; !strings.HasPrefix(raw, "has_close_elements([1.0, 2.8], 0.5) == False\nassert ") {
		t.Fatalf("a chat reply is kept as the continuation of \"assert \": %q", raw)
	}
	r := srv.Requests()[0]
	if r.Endpoint != "chat" || r.N != 3 || r.MaxTokens != 128 || *r.Temperature != 0.5 ||
		!strings.Contains(r.Prompt, testgen.Prompt(hePrompt, "has_close_elements")) || !strings.HasPrefix(r.Prompt, DeepSeekCoderSystemPrompt) {
		t.Fatalf("request %+v", r)
	}
}

func TestTestsAndCandidatesAnswerTheirOwnPrompts(t *testing.T) {
	srv := openaifake.New(openaifake.Options{})
	defer srv.Close()
	tp := newTestProcessor(t, srv)
	ctx := context.Background()
	if out, err := tp.Process(ctx, prompt("mbpp/601", chatModel, 2)); err != nil || out != nil {
		t.Fatalf("a candidates prompt: %v, %v", out, err)
	}
	if out, err := tp.g.Process(ctx, testsPrompt(chatModel, 0)); err != nil || out != nil {
		t.Fatalf("the candidate generator on a tests prompt: %v, %v", out, err)
	}
	if srv.Calls() != 0 {
		t.Fatalf("%d calls to the server", srv.Calls())
	}
	p := testsPrompt(chatModel, 2)
	p.ProblemID = "mbpp/601"
	if _, err := tp.Process(ctx, p); !errors.Is(err, ErrNotAFunction) || !IsPermanent(err) {
		t.Fatalf("tests for an MBPP problem: %v", err)
	}
	p = testsPrompt("nobody", 2)
	if _, err := tp.Process(ctx, p); !errors.Is(err, ErrUnknownModel) {
		t.Fatalf("unknown model: %v", err)
	}
}

func TestTestSettings(t *testing.T) {
	ms, err := ParseModels([]byte("models:\n  - name: a\n    api: completion\n  - name: b\n    api: chat\n    tests: {n: 10, temperature: 1.2}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := ms["a"].Tests; got != (TestSettings{N: 100, Temperature: 0.8, TopP: 0.95, MaxTokens: 300}) {
		t.Errorf("defaults: %+v", got)
	}
	if got := ms["b"].Tests; got != (TestSettings{N: 10, Temperature: 1.2, TopP: 0.95, MaxTokens: 300}) {
		t.Errorf("set: %+v", got)
	}
	if _, err := ParseModels([]byte("models:\n  - name: a\n    api: chat\n    tests: {n: -1}\n")); err == nil {
		t.Error("negative n accepted")
	}
}
