package generator

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codeverify/codeverify/processors/generator/openaifake"
	"github.com/codeverify/codeverify/schemas"
	"github.com/prometheus/client_golang/prometheus"
)

type problemMap map[string]schemas.Problem

func (m problemMap) Problem(id string) (schemas.Problem, bool) { p, ok := m[id]; return p, ok }

func testProblems() problemMap {
	mk := func(id int, text, code string, tests ...string) schemas.Problem {
		return schemas.Problem{ProblemID: fmt.Sprintf("mbpp/%d", id), Benchmark: "mbpp", Split: "train", Prompt: text,
			ReferenceCode: code, Tests: tests, TestStyle: schemas.StyleAsserts, EntryPoint: "add"}
	}
	return problemMap{
		"mbpp/2":   mk(2, "Write a function to find the similar elements.", "def similar_elements(a, b):\r\n\treturn tuple(set(a) & set(b))", "assert similar_elements((3, 4),(4, 5)) == (4,)"),
		"mbpp/3":   mk(3, "Write a python function to identify non-prime numbers.", "def is_not_prime(n):\n    return n > 1", "assert is_not_prime(10) == True"),
		"mbpp/4":   mk(4, "Write a function to find the largest integers.", "def heap_queue_largest(nums, n):\n    return sorted(nums)[-n:]", "assert heap_queue_largest([1, 2], 1) == [2]"),
		"mbpp/601": mk(601, "Write a function to add two numbers.", "def add(a, b):\n    return a + b", "assert add(1, 2) == 3", "assert add(0, 0) == 0"),
		"HumanEval/0": {ProblemID: "HumanEval/0", Benchmark: "humaneval", Split: "test", Prompt: hePrompt, EntryPoint: "has_close_elements",
			Tests: []string{"def check(candidate):\n    assert candidate([1.0], 0.5) == False\n"}, TestStyle: schemas.StyleCheck},
	}
}

const (
	chatModel = "deepseek-ai/deepseek-coder-1.3b-instruct"
	baseModel = "deepseek-ai/deepseek-coder-1.3b-base"
)

func testModels(t *testing.T, maxN int) Models {
	ms, err := NewModels(
		Model{Name: chatModel, API: APIChat, SystemPrompt: DeepSeekCoderSystemPrompt, MaxN: maxN},
		Model{Name: baseModel, API: APICompletion, MaxN: maxN, MaxStopsSent: 4},
	)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func newTestGenerator(t *testing.T, srv *openaifake.Server, maxN int, rec Recorder) *Generator {
	t.Helper()
	g, err := New(Config{BaseURL: srv.BaseURL(), Models: testModels(t, maxN), Problems: testProblems(), MaxAttempts: 4,
		BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond, RequestTimeout: 300 * time.Millisecond, Recorder: rec})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func prompt(problem, model string, n int32) schemas.Prompt {
	return schemas.Prompt{RequestID: "req-" + problem, ProblemID: problem, Benchmark: "mbpp", Split: "train", Purpose: "train",
		N: n, Temperature: 1.0, TopP: 0.95, MaxTokens: 64, Seed: 7, Model: model}
}

func TestChatMBPPSplitsNAndKeepsStableIDs(t *testing.T) {
	srv := openaifake.New(openaifake.Options{MaxN: 4, Respond: func(r openaifake.Request, i int) (string, string) {
		if i == 3 {
			return "```python\ndef add(a, b):\n    return (a +", "length"
		}
		return fmt.Sprintf("Here you go:\n```python\ndef add(a, b):\n    return a + b + %d\n```", i), "stop"
	}})
	defer srv.Close()
	rec := newTestMetrics(t)
	g := newTestGenerator(t, srv, 4, rec)
	p := prompt("mbpp/601", chatModel, 10)
	cands, err := g.Process(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(cands) != 10 {
		t.Fatalf("%d candidates, want 10", len(cands))
	}
	reqs := srv.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3 (4+4+2)", len(reqs))
	}
	seeds := map[int]bool{}
	ns := 0
	for _, r := range reqs {
		ns += r.N
		if r.Seed == nil || r.Temperature == nil || *r.Temperature != 1.0 || r.MaxTokens != 64 || r.Model != chatModel {
			t.Fatalf("request parameters lost: %+v", r)
		}
		seeds[*r.Seed] = true
		for _, want := range []string{"Deepseek Coder", ">>> Problem:\nWrite a function to add two numbers.", "assert add(1, 2) == 3", "- Example 1:", "def similar_elements(a, b):\n    return"} {
			if !strings.Contains(r.Prompt, want) {
				t.Errorf("prompt lacks %q:\n%s", want, r.Prompt)
			}
		}
	}
	if ns != 10 || len(seeds) != 3 {
		t.Fatalf("n summed %d, distinct seeds %d", ns, len(seeds))
	}
	for i, c := range cands {
		if c.CandidateID != schemas.CandidateID(p.RequestID, i) || int(c.SampleIndex) != i || c.ProblemID != "mbpp/601" || c.Source != "vllm" || c.Model != chatModel {
			t.Fatalf("candidate %d: %+v", i, c)
		}
		if c.PromptTokens <= 0 || c.CompletionTokens <= 0 || c.LatencyMs <= 0 || c.Temperature != 1.0 || c.MaxTokens != 64 {
			t.Fatalf("candidate %d lacks usage/latency: %+v", i, c)
		}
		if strings.Contains(c.Code, "```") || !strings.HasPrefix(c.Code, "def add(a, b):") || !strings.Contains(c.Completion, "```") {
			t.Fatalf("candidate %d: code %q completion %q", i, c.Code, c.Completion)
		}
	}
	// Sample 3 of each chunk of 4 is index 3 within its request: only sample 3 and 7 were cut.
	if cands[3].FinishReason != "length" || cands[3].CompletionTokens != 64 || cands[0].FinishReason != "stop" {
		t.Fatalf("finish reasons: %q (%d tokens) %q", cands[3].FinishReason, cands[3].CompletionTokens, cands[0].FinishReason)
	}
	again, err := g.Process(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	for i := range again {
		if again[i].CandidateID != cands[i].CandidateID {
			t.Fatalf("redelivered prompt gave id %s for sample %d, first time %s", again[i].CandidateID, i, cands[i].CandidateID)
		}
	}
	if rec.Value("requests_total", StatusOK) != 6 || rec.Value("completions_total", "length") != 4 || rec.Value("requests_in_flight", "") != 0 {
		t.Fatalf("metrics: ok=%v length=%v in_flight=%v", rec.Value("requests_total", StatusOK), rec.Value("completions_total", "length"), rec.Value("requests_in_flight", ""))
	}
}

func TestCompletionHumanEvalSendsStopsAndAssemblesProgram(t *testing.T) {
	srv := openaifake.New(openaifake.Options{Respond: func(r openaifake.Request, i int) (string, string) {
		return "    return False\n\n\ndef check(c):\n    pass\n", "stop" // this server ignores stops
	}})
	defer srv.Close()
	g := newTestGenerator(t, srv, 0, nil)
	p := prompt("HumanEval/0", baseModel, 3)
	p.Temperature = 0
	cands, err := g.Process(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	r := srv.Requests()[0]
	if r.Endpoint != "completion" || r.Prompt != hePrompt || len(r.Stop) != 4 || r.Stop[0] != "\ndef " || r.N != 3 {
		t.Fatalf("request %+v", r)
	}
	if *r.Temperature <= 0 || *r.Temperature > 1e-5 {
		t.Fatalf("temperature 0 sent as %v, want greedy (0 < t < 1e-5)", *r.Temperature)
	}
	if cands[0].Code != hePrompt+"    return False\n\n" {
		t.Fatalf("program %q", cands[0].Code)
	}
}

func TestTransientFailuresAreRetried(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fault  openaifake.Fault
		status string
	}{
		{"429", openaifake.Fault{Status: http.StatusTooManyRequests}, StatusRateLimited},
		{"500", openaifake.Fault{Status: http.StatusInternalServerError}, StatusServerError},
		{"503", openaifake.Fault{Status: http.StatusServiceUnavailable}, StatusServerError},
		{"truncated JSON", openaifake.Fault{Truncate: true}, StatusMalformed},
		{"slow", openaifake.Fault{Delay: time.Second}, StatusTimeout},
		{"malformed choices", openaifake.Fault{Malformed: true}, StatusMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := openaifake.New(openaifake.Options{Fault: func(_ openaifake.Request, call int64) openaifake.Fault {
				if call <= 2 {
					return tc.fault
				}
				return openaifake.Fault{}
			}})
			defer srv.Close()
			rec := newTestMetrics(t)
			g := newTestGenerator(t, srv, 0, rec)
			cands, err := g.Process(context.Background(), prompt("mbpp/601", chatModel, 5))
			if err != nil {
				t.Fatalf("not recovered: %v", err)
			}
			if len(cands) != 5 || srv.Calls() != 3 {
				t.Fatalf("%d candidates after %d calls", len(cands), srv.Calls())
			}
			if got := rec.Value("errors_total", tc.status); got != 2 {
				t.Fatalf("errors_total{kind=%q} = %v, want 2", tc.status, got)
			}
		})
	}
}

func TestPersistentFailuresArePermanent(t *testing.T) {
	srv := openaifake.New(openaifake.Options{Fault: func(r openaifake.Request, _ int64) openaifake.Fault {
		if strings.Contains(r.Prompt, "has_close_elements") {
			return openaifake.Fault{Status: http.StatusBadRequest}
		}
		return openaifake.Fault{Status: http.StatusInternalServerError}
	}})
	defer srv.Close()
	rec := newTestMetrics(t)
	g := newTestGenerator(t, srv, 0, rec)
	_, err := g.Process(context.Background(), prompt("mbpp/601", chatModel, 2))
	if !IsPermanent(err) || !errors.Is(err, ErrGaveUp) || !strings.Contains(err.Error(), "500") {
		t.Fatalf("500 forever: err = %v, want a permanent gave-up error naming the status", err)
	}
	if srv.Calls() != 4 {
		t.Fatalf("%d calls, want MaxAttempts=4", srv.Calls())
	}
	before := srv.Calls()
	_, err = g.Process(context.Background(), prompt("HumanEval/0", chatModel, 2))
	if !errors.Is(err, ErrRejected) || srv.Calls() != before+1 {
		t.Fatalf("400: err = %v after %d calls, want ErrRejected after one", err, srv.Calls()-before)
	}
	for _, p := range []schemas.Prompt{prompt("mbpp/9999", chatModel, 1), prompt("mbpp/601", "no-such-model", 1), prompt("mbpp/601", chatModel, 0)} {
		if _, err := g.Process(context.Background(), p); !IsPermanent(err) {
			t.Errorf("prompt %+v: err = %v, want permanent", p, err)
		}
	}
	if rec.Value("prompts_failed_total", "gave_up") != 2 {
		t.Fatalf("prompts_failed_total{gave_up} = %v", rec.Value("prompts_failed_total", "gave_up"))
	}
}

func TestServerAnsweringFewerThanNIsFilledUp(t *testing.T) {
	srv := openaifake.New(openaifake.Options{AnswerAtMost: 3})
	defer srv.Close()
	g := newTestGenerator(t, srv, 0, nil)
	cands, err := g.Process(context.Background(), prompt("mbpp/601", chatModel, 8))
	if err != nil {
		t.Fatal(err)
	}
	if len(cands) != 8 {
		t.Fatalf("%d candidates", len(cands))
	}
	for i, c := range cands {
		if c.Completion == "" || int(c.SampleIndex) != i {
			t.Fatalf("sample %d empty", i)
		}
	}
	// The cap is learned: the next prompt is split into requests of 3 up front.
	before := srv.Calls()
	if _, err := g.Process(context.Background(), prompt("mbpp/601", chatModel, 9)); err != nil {
		t.Fatal(err)
	}
	if got := srv.Calls() - before; got != 3 {
		t.Fatalf("%d calls for n=9 after learning cap 3", got)
	}
}

func TestUnreachableAndCancelledAreNotPermanent(t *testing.T) {
	srv := openaifake.New(openaifake.Options{})
	url := srv.BaseURL()
	srv.Close()
	g, err := New(Config{BaseURL: url, Models: testModels(t, 0), Problems: testProblems(), MaxAttempts: 2, BackoffBase: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Process(context.Background(), prompt("mbpp/601", chatModel, 1)); err == nil || IsPermanent(err) {
		t.Fatalf("server down: err = %v, want a transient error", err)
	}
	slow := openaifake.New(openaifake.Options{Latency: time.Minute})
	defer slow.Close()
	g2 := newTestGenerator(t, slow, 0, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := g2.Process(ctx, prompt("mbpp/601", chatModel, 1)); err == nil || IsPermanent(err) {
		t.Fatalf("cancelled: err = %v, want a transient error", err)
	}
}

func TestConcurrencyIsBounded(t *testing.T) {
	srv := openaifake.New(openaifake.Options{Latency: 20 * time.Millisecond})
	defer srv.Close()
	g, err := New(Config{BaseURL: srv.BaseURL(), Models: testModels(t, 10), Problems: testProblems(), MaxRequests: 4, MaxSequences: 25})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	for range 8 {
		go func() { _, err := g.Process(context.Background(), prompt("mbpp/601", chatModel, 30)); done <- err }()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if p := srv.PeakInFlight(); p > 25 || p < 10 {
		t.Fatalf("peak sequences in flight %d, want 10..25", p)
	}
}

func newTestMetrics(t *testing.T) *Metrics {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if !strings.HasPrefix(f.GetName(), MetricsPrefix) {
			t.Fatalf("metric %s lacks the prefix %s", f.GetName(), MetricsPrefix)
		}
	}
	return m
}

// TestFailedChunkIsRetriedAlone: when one chunk of a split prompt fails and the prompt is
// redelivered, only that chunk is requested again; the other chunks' samples are kept, in place.
func TestFailedChunkIsRetriedAlone(t *testing.T) {
	var failed atomic.Bool
	srv := openaifake.New(openaifake.Options{MaxN: 4, Fault: func(r openaifake.Request, _ int64) openaifake.Fault {
		if r.N == 2 && failed.CompareAndSwap(false, true) {
			return openaifake.Fault{Delay: time.Minute} // the last chunk (8..9) hangs once
		}
		return openaifake.Fault{}
	}})
	defer srv.Close()
	g, err := New(Config{BaseURL: srv.BaseURL(), Models: testModels(t, 4), Problems: testProblems(), MaxAttempts: 4,
		BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond, RequestTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	p := prompt("mbpp/601", chatModel, 10)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := g.Process(ctx, p); err == nil || IsPermanent(err) {
		t.Fatalf("first delivery: err = %v, want a transient failure", err)
	}
	if srv.Calls() != 3 {
		t.Fatalf("%d calls on the first delivery, want 3 (4+4+2)", srv.Calls())
	}
	cands, err := g.Process(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if srv.Calls() != 4 {
		t.Fatalf("%d calls after redelivery, want exactly one extra request", srv.Calls())
	}
	reqs := srv.Requests()
	var hung openaifake.Request
	for _, r := range reqs[:3] {
		if r.N == 2 {
			hung = r
		}
	}
	if last := reqs[3]; last.N != 2 || hung.Seed == nil || *last.Seed != *hung.Seed {
		t.Fatalf("retried request n=%d seed %v, want the failed chunk's n=2 seed %v", last.N, *last.Seed, *hung.Seed)
	}
	if len(cands) != 10 {
		t.Fatalf("%d candidates", len(cands))
	}
	for i, c := range cands {
		want := fmt.Sprintf("x * %d\n", i%4) // choice index within its chunk of 4
		if c.CandidateID != schemas.CandidateID(p.RequestID, i) || int(c.SampleIndex) != i || !strings.Contains(c.Completion, want) {
			t.Fatalf("candidate %d: id %s, completion %q", i, c.CandidateID, c.Completion)
		}
	}
	// Success forgets the kept samples: a further delivery asks for everything again.
	if _, err := g.Process(context.Background(), p); err != nil || srv.Calls() != 7 {
		t.Fatalf("third delivery: err %v, %d calls, want 7", err, srv.Calls())
	}
}
