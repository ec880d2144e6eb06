package streams

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codeverify/codeverify/schemas"
	"github.com/segmentio/kafka-go"
)

// testLog shows warnings and errors only, so a failing test's output points at the problem.
// STREAMS_TEST_LOG=debug (or info) shows more.
func testLog() *slog.Logger {
	level := slog.LevelWarn
	_ = level.UnmarshalText([]byte(os.Getenv("STREAMS_TEST_LOG")))
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

func startBroker(t testing.TB) *Broker {
	t.Helper()
	b, err := StartBroker(t.TempDir(), 0, testLog())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

func testCodecs(t testing.TB) *schemas.Codecs {
	t.Helper()
	c, err := schemas.NewCodecs()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var nameSeq atomic.Int64

// uniqueName gives each test its own topics and groups on a shared broker.
func uniqueName(t testing.TB, what string) string {
	n := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	return fmt.Sprintf("%s-%s-%d", n, what, nameSeq.Add(1))
}

// pipelineTopics creates an input (with its DLQ) and an output topic.
func pipelineTopics(t testing.TB, b *Broker, partitions int) (in, out string) {
	t.Helper()
	in, out = uniqueName(t, "candidates"), uniqueName(t, "verdicts")
	cat := Catalog{
		{Name: in, Partitions: partitions, Key: "problem_id"},
		{Name: DLQTopic(in), Partitions: 1},
		{Name: out, Partitions: partitions, Key: "candidate_id"},
	}
	if err := EnsureTopics(testCtx(t, 10*time.Second), brokersOf(b), cat); err != nil {
		t.Fatal(err)
	}
	return in, out
}

func testCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func candidate(i int) schemas.Candidate {
	return schemas.Candidate{
		CandidateID: fmt.Sprintf("c%04d", i), RequestID: "r1", ProblemID: fmt.Sprintf("p%d", i%5),
		SampleIndex: int32(i), Code: "def f(): return 1", Source: "synthetic",
	}
}

// candidates are candidate(0) … candidate(n-1).
func candidates(n int) []schemas.Candidate {
	cs := make([]schemas.Candidate, n)
	for i := range cs {
		cs[i] = candidate(i)
	}
	return cs
}

func verdictOf(c schemas.Candidate) schemas.Verdict {
	return schemas.Verdict{CandidateID: c.CandidateID, RequestID: c.RequestID, ProblemID: c.ProblemID, SampleIndex: c.SampleIndex, Label: schemas.Pass, FailureKind: schemas.KindNone}
}

func publishCandidates(t testing.TB, b *Broker, topic string, cs ...schemas.Candidate) {
	t.Helper()
	p := NewProducer(brokersOf(b), topic, testCodecs(t).Candidate, func(c schemas.Candidate) string { return c.ProblemID })
	defer p.Close()
	if err := p.Publish(testCtx(t, 10*time.Second), cs...); err != nil {
		t.Fatal(err)
	}
}

// publishRaw writes bytes as they are, e.g. junk a codec cannot decode.
func publishRaw(t testing.TB, b *Broker, topic string, msgs ...kafka.Message) {
	t.Helper()
	w, tr := brokersOf(b).newWriter(topic)
	defer tr.CloseIdleConnections()
	w.BatchBytes = 16 << 20
	defer w.Close()
	if err := w.WriteMessages(testCtx(t, 10*time.Second), msgs...); err != nil {
		t.Fatal(err)
	}
}

func brokersOf(b *Broker) Cluster { return Cluster{Brokers: []string{b.Addr()}} }

func verdictRunnerConfig(t testing.TB, b *Broker, group, in, out string) RunnerConfig[schemas.Candidate, schemas.Verdict] {
	c := testCodecs(t)
	return RunnerConfig[schemas.Candidate, schemas.Verdict]{
		Cluster: brokersOf(b), Group: group, Input: in, Output: out,
		InCodec: c.Candidate, OutCodec: c.Verdict,
		OutKey:       func(v schemas.Verdict) string { return v.CandidateID },
		Validate:     schemas.Candidate.Validate,
		Workers:      4,
		DrainTimeout: 5 * time.Second,
		Log:          testLog(),
	}
}

// startRunner runs r in the background; the returned func cancels it (unless already stopped) and
// returns Run's error.
func startRunner[In, Out any](t testing.TB, r *Runner[In, Out]) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var result *error
	stop = func() error {
		if result != nil {
			return *result
		}
		cancel()
		select {
		case err := <-done:
			result = &err
			return err
		case <-time.After(30 * time.Second):
			t.Fatal("runner did not stop within 30s")
			return nil
		}
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func readVerdicts(t testing.TB, b *Broker, topic string) []schemas.Verdict {
	t.Helper()
	vs, bad, err := ReadAll(testCtx(t, 10*time.Second), brokersOf(b), topic, testCodecs(t).Verdict)
	if err != nil {
		t.Fatal(err)
	}
	if bad != 0 {
		t.Fatalf("%d undecodable messages in %s", bad, topic)
	}
	return vs
}

func countByID(vs []schemas.Verdict) map[string]int {
	m := map[string]int{}
	for _, v := range vs {
		m[v.CandidateID]++
	}
	return m
}
