package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/codeverify/codeverify/internal/testkit"
	"github.com/codeverify/codeverify/producers"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/sinks/clickhouse"
	"github.com/codeverify/codeverify/streams"
)

// End-to-end tests of the executor and the verdict sink (newE2EEnv): the embedded broker over TCP,
// a real ClickHouse server, a real python3 sandbox.

func TestPipelineEndToEnd(t *testing.T) {
	e := newE2EEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	problemsPath, recs := testkit.HumanEvalSubset(t, 5)
	var samples []map[string]string
	for _, r := range recs {
		id, prompt := r["task_id"].(string), r["prompt"].(string)
		samples = append(samples,
			map[string]string{"task_id": id, "solution": prompt + r["canonical_solution"].(string)},  // PASS
			map[string]string{"task_id": id, "solution": prompt + "    return None\n"},               // FAIL assertion
			map[string]string{"task_id": id, "solution": "import sys\nprint('PASS')\nsys.exit(0)\n"}, // FAIL: exits before the tests
			map[string]string{"task_id": id, "solution": "   \n"},                                    // FAIL syntax (empty)
			map[string]string{"task_id": id, "solution": "def f(:\n"},                                // FAIL syntax
		)
	}
	_, cands, err := Publish(ctx, e.env, e.codecs, problemsPath, testkit.WriteSamples(t, samples), producersOpt("e2e-model"))
	if err != nil {
		t.Fatal(err)
	}
	// A candidate whose code is not valid UTF-8 (Avro strings carry bytes as they are).
	bad := cands[1]
	bad.CandidateID, bad.SampleIndex, bad.Code = schemas.CandidateID("utf8", 0), 99, "def f():\n    return '\xff\xfe'\n"
	cp := streams.NewProducer(e.env.Cluster(), "candidates", e.codecs.Candidate, func(c schemas.Candidate) string { return c.ProblemID })
	defer cp.Close()
	if err := cp.Publish(ctx, bad); err != nil {
		t.Fatal(err)
	}
	e.startPipeline(t, ctx)
	e.startSink(t, ctx)

	want := uint64(len(cands) + 1)
	rows, distinct := waitVerdicts(t, e, want, 120*time.Second)
	if rows != want || distinct != want {
		t.Fatalf("ClickHouse has %d rows / %d distinct candidates, want %d", rows, distinct, want)
	}
	verdicts, badRecs, err := streams.ReadAll(ctx, e.env.Cluster(), "verdicts", e.codecs.Verdict)
	if err != nil || badRecs != 0 {
		t.Fatal(err, badRecs)
	}
	byID := map[string]schemas.Verdict{}
	for _, v := range verdicts {
		byID[v.CandidateID] = v
	}
	wantKind := []string{schemas.KindNone, schemas.KindAssertion, schemas.KindException, schemas.KindSyntax, schemas.KindSyntax}
	for i, c := range cands {
		v, ok := byID[c.CandidateID]
		if !ok {
			t.Fatalf("no verdict for %s #%d", c.ProblemID, c.SampleIndex)
		}
		wantLabel := schemas.Fail
		if i%5 == 0 {
			wantLabel = schemas.Pass
		}
		kindOK := v.FailureKind == wantKind[i%5] || (i%5 == 1 && v.FailureKind == schemas.KindException) // a wrong answer may also raise
		if v.Label != wantLabel || !kindOK {
			t.Errorf("%s sample %d: %s/%s (%s), want %s/%s", c.ProblemID, c.SampleIndex, v.Label, v.FailureKind, v.Detail, wantLabel, wantKind[i%5])
		}
		if v.TestSuiteHash == "" || v.ExecutorVersion == "" || v.Model != "e2e-model" || v.Benchmark != "humaneval" {
			t.Errorf("verdict metadata incomplete: %+v", v)
		}
	}
	if v := byID[bad.CandidateID]; v.Label != schemas.Fail || v.FailureKind != schemas.KindSyntax {
		t.Errorf("invalid UTF-8: %s/%s, want FAIL/syntax", v.Label, v.FailureKind)
	}

	rep, err := e.sink.Report(ctx, clickhouse.ReportFilter{Model: "e2e-model"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep) != 1 || rep[0].Problems != 5 || rep[0].Candidates != 26 || rep[0].Passed != 5 || rep[0].ZeroPassProblems != 0 {
		t.Fatalf("report: %+v", rep)
	}
	cancel()
}

// The executor is killed mid-stream (no drain, no commit) and restarted: at-least-once delivery
// redelivers, and ClickHouse still ends with exactly one verdict per candidate.
func TestExecutorCrashRestartExactlyOneVerdictEach(t *testing.T) {
	e := newE2EEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	problemsPath, recs := testkit.HumanEvalSubset(t, 8)
	var samples []map[string]string
	for _, r := range recs {
		for k := 0; k < 24; k++ {
			body := r["canonical_solution"].(string)
			if k%2 == 1 {
				body = "    return 0\n"
			}
			// Distinct programs (no cache hits) that each take a moment, so the kill lands mid-stream.
			slow := fmt.Sprintf("\nimport time as _t\n_variant = %d\n_t.sleep(0.03)\n", k)
			samples = append(samples, map[string]string{"task_id": r["task_id"].(string), "solution": r["prompt"].(string) + body + slow})
		}
	}
	_, cands, err := Publish(ctx, e.env, e.codecs, problemsPath, testkit.WriteSamples(t, samples), producersOpt("crash-model"))
	if err != nil {
		t.Fatal(err)
	}
	e.startSink(t, ctx)

	r1ctx, r1cancel := context.WithCancel(ctx)
	r1, errc := e.startPipeline(t, r1ctx)
	// Let it get part of the way, then kill it.
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, d, _ := e.sink.VerdictCount(ctx)
		if d >= 5 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	r1.Abort()
	r1cancel()
	<-errc
	_, before, _ := e.sink.VerdictCount(ctx)
	if before >= uint64(len(cands)) {
		t.Fatalf("the executor finished (%d) before it could be killed; the test proves nothing", before)
	}

	e.startPipeline(t, ctx)
	rows, distinct := waitVerdicts(t, e, uint64(len(cands)), 120*time.Second)
	if rows != uint64(len(cands)) || distinct != uint64(len(cands)) {
		t.Fatalf("after crash+restart ClickHouse has %d rows / %d distinct, want exactly %d", rows, distinct, len(cands))
	}
	rep, err := e.sink.Report(ctx, clickhouse.ReportFilter{Model: "crash-model"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep) != 1 || rep[0].Candidates != uint64(len(cands)) || rep[0].Passed != uint64(len(cands)/2) {
		t.Fatalf("report after restart: %+v", rep)
	}
	t.Logf("killed after %d verdicts; %d candidates, exactly one verdict each", before, len(cands))
}

// A malformed Avro message and an oversized one end in candidates.dlq with a reason; the pipeline
// keeps going.
func TestBadInputGoesToDeadLetterTopic(t *testing.T) {
	e := newE2EEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	problemsPath, recs := testkit.HumanEvalSubset(t, 1)
	id := recs[0]["task_id"].(string)
	good := map[string]string{"task_id": id, "solution": recs[0]["prompt"].(string) + recs[0]["canonical_solution"].(string)}
	if _, _, err := Publish(ctx, e.env, e.codecs, problemsPath, testkit.WriteSamples(t, []map[string]string{good}), producersOpt("dlq-model")); err != nil {
		t.Fatal(err)
	}
	if err := streams.PublishRaw(ctx, e.env.Cluster(), "candidates", []byte(id), []byte("this is not avro")); err != nil {
		t.Fatal(err)
	}
	huge := schemas.Candidate{CandidateID: "huge", RequestID: "r", ProblemID: id, Code: strings.Repeat("x = 1\n", 70_000), Model: "dlq-model"}
	hb, _ := e.codecs.Candidate.Encode(huge)
	if err := streams.PublishRaw(ctx, e.env.Cluster(), "candidates", []byte(id), hb); err != nil {
		t.Fatal(err)
	}
	unknown := schemas.Candidate{CandidateID: "orphan", RequestID: "r", ProblemID: "NoSuch/1", Code: "x=1", Model: "dlq-model"}
	after := schemas.Candidate{CandidateID: "after", RequestID: "r", ProblemID: id, Code: good["solution"], Model: "dlq-model"}
	cp := streams.NewProducer(e.env.Cluster(), "candidates", e.codecs.Candidate, func(c schemas.Candidate) string { return c.ProblemID })
	defer cp.Close()
	if err := cp.Publish(ctx, unknown, after); err != nil {
		t.Fatal(err)
	}
	e.env.Config.MaxMessageBytes = 256 << 10
	e.startPipeline(t, ctx)
	e.startSink(t, ctx)
	if _, d := waitVerdicts(t, e, 2, 90*time.Second); d != 2 {
		t.Fatalf("want verdicts for the two good candidates, got %d", d)
	}
	var dead []streams.DeadLetter
	deadline := time.Now().Add(30 * time.Second)
	for len(dead) < 3 && time.Now().Before(deadline) {
		dead, _ = streams.ReadDeadLetters(ctx, e.env.Cluster(), "candidates.dlq")
		time.Sleep(100 * time.Millisecond)
	}
	if len(dead) != 3 {
		t.Fatalf("dead letters: %+v, want 3 (junk, oversized, unknown problem)", dead)
	}
	reasons := ""
	for _, d := range dead {
		if d.Reason == "" || d.Stage == "" {
			t.Errorf("dead letter without reason/stage: %+v", d)
		}
		reasons += d.Stage + ": " + d.Reason + "\n"
	}
	for _, want := range []string{"decode", "oversized", "unknown problem"} {
		if !strings.Contains(reasons, want) {
			t.Errorf("no dead letter mentions %q:\n%s", want, reasons)
		}
	}
}

func producersOpt(model string) producers.SampleOptions { return producers.SampleOptions{Model: model} }

// TestExecutorLooksUpClickHouse: with --lookup-clickhouse, a candidate whose exact program
// already has a (non-timeout) verdict in ClickHouse is answered from there — a deliberately
// contradicting stored label proves where the answer came from — and the others execute.
func TestExecutorLooksUpClickHouse(t *testing.T) {
	e := newE2EEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	problemsPath, recs := testkit.HumanEvalSubset(t, 1)
	id, prompt := recs[0]["task_id"].(string), recs[0]["prompt"].(string)
	samples := []map[string]string{
		{"task_id": id, "solution": prompt + recs[0]["canonical_solution"].(string)}, // PASS if executed
		{"task_id": id, "solution": prompt + "    return None\n"},                    // FAIL assertion, executed
	}
	_, cands, err := Publish(ctx, e.env, e.codecs, problemsPath, testkit.WriteSamples(t, samples), producersOpt("lookup-model"))
	if err != nil {
		t.Fatal(err)
	}
	problems, _, err := streams.ReadAll(ctx, e.env.Cluster(), "problems", e.codecs.Problem)
	if err != nil {
		t.Fatal(err)
	}
	var p schemas.Problem
	for _, q := range problems {
		if q.ProblemID == cands[0].ProblemID {
			p = q
		}
	}
	if p.ProblemID == "" {
		t.Fatalf("problem %s not on the problems topic", cands[0].ProblemID)
	}
	sum := sha256.Sum256([]byte(cands[0].Code))
	stored := schemas.Verdict{
		CandidateID: schemas.CandidateID("earlier-run", 0), RequestID: "earlier-run", ProblemID: p.ProblemID,
		Benchmark: p.Benchmark, Split: p.Split, Model: "earlier-model", Label: schemas.Fail,
		FailureKind: schemas.KindAssertion, Detail: "stored verdict", ExecutorVersion: "earlier",
		TestSuiteHash: p.SuiteHash(), CodeSHA256: hex.EncodeToString(sum[:]), ExecutedAtMs: time.Now().UnixMilli(),
	}
	if err := e.sink.WriteVerdicts(ctx, []schemas.Verdict{stored}); err != nil {
		t.Fatal(err)
	}

	r, closeExecutor, err := NewExecutorRunner(ctx, e.env, e.codecs, ExecutorOptions{LookupClickHouse: true, StatsEvery: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeExecutor)
	e.background(t, ctx, r.Run)

	byID := map[string]schemas.Verdict{}
	for deadline := time.Now().Add(60 * time.Second); len(byID) < len(cands) && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		vs, _, err := streams.ReadAll(ctx, e.env.Cluster(), "verdicts", e.codecs.Verdict)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			byID[v.CandidateID] = v
		}
	}
	if v, ok := byID[cands[0].CandidateID]; !ok || v.Label != schemas.Fail || v.Detail != "stored verdict" {
		t.Errorf("candidate with a stored verdict: got %+v (found %v), want the stored FAIL", v, ok)
	}
	if v, ok := byID[cands[1].CandidateID]; !ok || v.Label != schemas.Fail || v.FailureKind != schemas.KindAssertion || v.Detail == "stored verdict" {
		t.Errorf("candidate without a stored verdict: got %+v (found %v), want an executed FAIL assertion", v, ok)
	}
}
