package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/codeverify/codeverify/internal/testkit"
	"github.com/codeverify/codeverify/processors/generator"
	"github.com/codeverify/codeverify/processors/generator/openaifake"
	"github.com/codeverify/codeverify/processors/testgen"
	"github.com/codeverify/codeverify/producers"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/streams"
)

func codetFiles(t *testing.T) (problems, tests string) {
	t.Helper()
	if _, err := os.Stat(testgen.DefaultPython); err != nil {
		t.Skipf("no %s: %v", testgen.DefaultPython, err)
	}
	d := filepath.Join(testkit.DataDir(t), "samples", "codet_humaneval_codegen16b")
	return filepath.Join(d, "HumanEval_for_code_generation.jsonl"), filepath.Join(d, "HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_test_case.dev100.jsonl")
}

// TestProduceTestsReplaysCodeT: `produce --tests` puts one test set per line on the tests topic,
// keyed by problem, and replaying the file again yields the same test set ids.
func TestProduceTestsReplaysCodeT(t *testing.T) {
	env, codecs, _ := brokerEnv(t)
	ctx := context.Background()
	problems, tests := codetFiles(t)
	for range 2 {
		if _, err := PublishTests(ctx, env, codecs, problems, tests, "codegen-16B-mono"); err != nil {
			t.Fatal(err)
		}
	}
	got, bad, err := streams.ReadAll(ctx, env.Cluster(), streams.TopicTests, codecs.TestCase)
	if err != nil || bad > 0 {
		t.Fatalf("read tests: %v (%d undecodable)", err, bad)
	}
	if len(got) != 200 {
		t.Fatalf("%d test sets, want 200 (100 lines, replayed twice)", len(got))
	}
	ids := map[string]int{}
	for _, tc := range got {
		if err := tc.Validate(); err != nil || tc.Model != "codegen-16B-mono" || tc.Source != "replay" {
			t.Fatalf("%+v: %v", tc.ProblemID, err)
		}
		ids[tc.TestSetID]++
	}
	if len(ids) != 100 {
		t.Fatalf("%d distinct test set ids, want 100", len(ids))
	}
}

// TestTestGeneratorEndToEnd: prompts for tests → test generator (fake OpenAI server, base model) →
// tests topic; a prompt for candidates on the same topic is committed without output.
func TestTestGeneratorEndToEnd(t *testing.T) {
	env, codecs, _ := brokerEnv(t)
	ctx := context.Background()
	problemsPath, _ := codetFiles(t)
	all, err := producers.LoadProblems(problemsPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := PublishProblems(ctx, env, codecs, all); err != nil {
		t.Fatal(err)
	}
	srv := openaifake.New(openaifake.Options{Respond: func(r openaifake.Request, i int) (string, string) {
		_, ep, _ := strings.Cut(r.Prompt, "# check the correctness of ")
		ep, _, _ = strings.Cut(ep, "\n")
		return ep + "(1) == 1\nassert " + ep + "(2) == 2\n# done\nassert other(3) == 3", "stop"
	}})
	defer srv.Close()
	const model = "deepseek-ai/deepseek-coder-1.3b-base"
	models, err := generator.NewModels(generator.Model{Name: model, API: generator.APICompletion, MaxN: 4, Tests: generator.TestSettings{N: 6}})
	if err != nil {
		t.Fatal(err)
	}
	chosen := all[:2]
	prompts := producers.BuildPrompts(chosen, producers.PromptOptions{Model: model, Purpose: schemas.PurposeTests, Seed: 1})
	prompts = append(prompts, producers.BuildPrompts(all[2:3], producers.PromptOptions{Model: model, N: 2})...)
	pp := streams.NewProducer(env.Cluster(), streams.TopicPrompts, codecs.Prompt, func(p schemas.Prompt) string { return p.ProblemID })
	defer pp.Close()
	if err := pp.Publish(ctx, prompts...); err != nil {
		t.Fatal(err)
	}
	rec, _ := generator.NewMetrics(nil)
	o := GeneratorOptions{BaseURL: srv.BaseURL(), MaxRequests: 4, MaxSequences: 16, MaxAttempts: 2, Timeout: 5 * time.Second,
		BackoffBase: time.Millisecond, BackoffMax: 10 * time.Millisecond}
	r, err := NewTestGeneratorRunner(ctx, env, codecs, models, o, rec)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(runCtx) }()
	deadline := time.Now().Add(60 * time.Second)
	for st := r.Stats(); st.Processed+st.DeadLettered < 3; st = r.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("runner stats after 60s: %+v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got, bad, err := streams.ReadAll(ctx, env.Cluster(), streams.TopicTests, codecs.TestCase)
	if err != nil || bad > 0 {
		t.Fatalf("read tests: %v (%d undecodable)", err, bad)
	}
	if len(got) != 2 || r.Stats().DeadLettered != 0 {
		t.Fatalf("%d test sets (want 2), stats %+v", len(got), r.Stats())
	}
	for _, tc := range got {
		if len(tc.Raw) != 6 || len(tc.Asserts) != 2 || tc.Asserts[0].Frequency != 6 || !strings.Contains(tc.Asserts[1].Code, "(2) == 2") {
			t.Fatalf("%s: %d raw, asserts %+v", tc.ProblemID, len(tc.Raw), tc.Asserts)
		}
	}
	if srv.Calls() != 4 { // two prompts × 6 samples in requests of at most 4
		t.Fatalf("%d calls", srv.Calls())
	}
}
