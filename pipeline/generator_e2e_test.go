package pipeline

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codeverify/codeverify/internal/ops"
	"github.com/codeverify/codeverify/internal/testkit"
	"github.com/codeverify/codeverify/processors/generator"
	"github.com/codeverify/codeverify/processors/generator/openaifake"
	"github.com/codeverify/codeverify/producers"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/streams"
	"github.com/prometheus/client_golang/prometheus"
)

// TestGeneratorEndToEnd: prompts topic → generator (fake OpenAI server) → candidates topic, over the
// embedded broker. A prompt the server always fails lands in prompts.dlq with the reason; a
// redelivered prompt yields the same candidate ids.
func TestGeneratorEndToEnd(t *testing.T) {
	env, codecs, _ := brokerEnv(t)
	ctx := context.Background()
	all, err := producers.LoadMBPP(filepath.Join(testkit.DataDir(t), "mbpp", "mbpp.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	train := producers.FilterSplit(all, "train")[:4]
	if err := PublishProblems(ctx, env, codecs, all); err != nil {
		t.Fatal(err)
	}
	doomed := train[3]
	var limited atomic.Bool
	srv := openaifake.New(openaifake.Options{MaxN: 4, Fault: func(r openaifake.Request, _ int64) openaifake.Fault {
		switch {
		case strings.Contains(r.Prompt, strings.TrimSpace(doomed.Prompt)):
			return openaifake.Fault{Status: http.StatusInternalServerError}
		case limited.CompareAndSwap(false, true):
			return openaifake.Fault{Status: http.StatusTooManyRequests} // recovered by a retry
		}
		return openaifake.Fault{}
	}})
	defer srv.Close()
	models, err := generator.NewModels(generator.Model{Name: "deepseek-ai/deepseek-coder-1.3b-instruct", API: generator.APIChat, MaxN: 4})
	if err != nil {
		t.Fatal(err)
	}
	prompts := producers.BuildPrompts(train, producers.PromptOptions{Model: "deepseek-ai/deepseek-coder-1.3b-instruct", N: 10, Seed: 1})
	pp := streams.NewProducer(env.Cluster(), "prompts", codecs.Prompt, func(p schemas.Prompt) string { return p.ProblemID })
	defer pp.Close()
	// prompts[0] twice: a redelivery.
	if err := pp.Publish(ctx, append(prompts, prompts[0])...); err != nil {
		t.Fatal(err)
	}

	rec, _ := generator.NewMetrics(nil)
	o := GeneratorOptions{BaseURL: srv.BaseURL(), MaxRequests: 8, MaxSequences: 32, MaxAttempts: 3, Timeout: 5 * time.Second,
		BackoffBase: time.Millisecond, BackoffMax: 10 * time.Millisecond}
	reg := prometheus.NewRegistry()
	if o.Metrics, err = ops.NewStageMetrics(reg); err != nil {
		t.Fatal(err)
	}
	r, _, err := NewGeneratorRunner(ctx, env, codecs, models, o, rec)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(runCtx) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st := r.Stats()
		if st.Processed+st.DeadLettered >= 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("runner stats after 60s: %+v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	cands, bad, err := streams.ReadAll(ctx, env.Cluster(), "candidates", codecs.Candidate)
	if err != nil || bad > 0 {
		t.Fatalf("read candidates: %v (%d undecodable)", err, bad)
	}
	if len(cands) != 40 {
		t.Fatalf("%d candidates, want 40 (3 prompts × 10 + the redelivered one again)", len(cands))
	}
	ids := map[string]int{}
	for _, c := range cands {
		ids[c.CandidateID]++
		if c.ProblemID == doomed.ProblemID || c.Code == "" || c.Completion == "" || c.PromptTokens == 0 || c.Source != "vllm" {
			t.Fatalf("bad candidate %+v", c)
		}
	}
	if len(ids) != 30 {
		t.Fatalf("%d distinct candidate ids, want 30", len(ids))
	}
	for i := range 10 {
		if ids[schemas.CandidateID(prompts[0].RequestID, i)] != 2 {
			t.Fatalf("redelivered prompt: sample %d id seen %d times, want 2 (same id)", i, ids[schemas.CandidateID(prompts[0].RequestID, i)])
		}
	}
	dls, err := streams.ReadDeadLetters(ctx, env.Cluster(), streams.DLQTopic("prompts"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dls) != 1 || !strings.Contains(dls[0].Reason, "gave up after 3 attempts") || !strings.Contains(dls[0].Reason, "500") {
		t.Fatalf("dead letters: %+v", dls)
	}
	if p, err := codecs.Prompt.Decode(dls[0].Value); err != nil || p.ProblemID != doomed.ProblemID {
		t.Fatalf("dead letter is not the doomed prompt: %+v %v", p, err)
	}
	if n := deadLetters(t, reg, streams.TopicPrompts, streams.StageProcess); n != 1 {
		t.Fatalf("codeverify_dead_letters_total{topic=prompts,stage=process} = %v, want 1", n)
	}
	if rec.Value("errors_total", generator.StatusRateLimited) == 0 {
		t.Fatal("no 429 was injected and retried")
	}
}

// TestGeneratorPromptsRightAfterStart: the generator starts on a fresh cluster with no problems yet;
// problems and prompts are published right after. Every prompt yields its candidates and none is
// dead-lettered as "unknown problem": a stage whose problems table misses a row first reads what
// the topic holds, so only a problem that was never published is a dead letter.
func TestGeneratorPromptsRightAfterStart(t *testing.T) {
	env, codecs, _ := brokerEnv(t)
	ctx := context.Background()
	all, err := producers.LoadMBPP(filepath.Join(testkit.DataDir(t), "mbpp", "mbpp.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	train := producers.FilterSplit(all, "train")[:6]
	srv := openaifake.New(openaifake.Options{MaxN: 4})
	defer srv.Close()
	models, err := generator.NewModels(generator.Model{Name: "m", API: generator.APIChat, MaxN: 4})
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := generator.NewMetrics(nil)
	o := GeneratorOptions{BaseURL: srv.BaseURL(), MaxRequests: 8, MaxSequences: 32, MaxAttempts: 3, Timeout: 5 * time.Second,
		BackoffBase: time.Millisecond, BackoffMax: 10 * time.Millisecond}
	r, _, err := NewGeneratorRunner(ctx, env, codecs, models, o, rec)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(runCtx) }()

	// Published after the generator read its (empty) problems table, one problem never at all.
	prompts := producers.BuildPrompts(train, producers.PromptOptions{Model: "m", N: 4, Seed: 1})
	if err := PublishProblems(ctx, env, codecs, train[:5]); err != nil {
		t.Fatal(err)
	}
	pp := streams.NewProducer(env.Cluster(), streams.TopicPrompts, codecs.Prompt, func(p schemas.Prompt) string { return p.ProblemID })
	defer pp.Close()
	if err := pp.Publish(ctx, prompts...); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for st := r.Stats(); st.Processed+st.DeadLettered < int64(len(prompts)); st = r.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("runner stats after 60s: %+v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	cands, _, err := streams.ReadAll(ctx, env.Cluster(), streams.TopicCandidates, codecs.Candidate)
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for _, c := range cands {
		per[c.ProblemID]++
	}
	for _, p := range train[:5] {
		if per[p.ProblemID] != 4 {
			t.Errorf("problem %s published before its prompt: %d candidates, want 4", p.ProblemID, per[p.ProblemID])
		}
	}
	dls, err := streams.ReadDeadLetters(ctx, env.Cluster(), streams.DLQTopic(streams.TopicPrompts))
	if err != nil {
		t.Fatal(err)
	}
	if len(dls) != 1 || !strings.Contains(dls[0].Reason, train[5].ProblemID) {
		t.Fatalf("dead letters %+v: want only the prompt of the never-published problem %s", dls, train[5].ProblemID)
	}
}

// deadLetters is codeverify_dead_letters_total{topic, stage} as reg gathers it.
func deadLetters(t *testing.T, reg *prometheus.Registry, topic, stage string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "codeverify_dead_letters_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["topic"] == topic && labels["stage"] == stage {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
