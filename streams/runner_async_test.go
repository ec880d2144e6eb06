package streams

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codeverify/codeverify/schemas"
)

// held is an AsyncProcessor that keeps every input's callback until the test releases it, like a
// join that waits for other events.
type held struct {
	mu      sync.Mutex
	waiting map[string]func([]schemas.Verdict, error)
	ctxs    map[string]context.Context
	starts  atomic.Int64
	failFor map[string]int // candidate id → transient failures before success
	dead    map[string]bool
}

func newHeld() *held {
	return &held{waiting: map[string]func([]schemas.Verdict, error){}, ctxs: map[string]context.Context{}, failFor: map[string]int{}, dead: map[string]bool{}}
}

func (h *held) Start(ctx context.Context, c schemas.Candidate, done func([]schemas.Verdict, error)) {
	h.starts.Add(1)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failFor[c.CandidateID] > 0 {
		h.failFor[c.CandidateID]--
		go done(nil, errors.New("model server busy"))
		return
	}
	if h.dead[c.CandidateID] {
		done(nil, Permanent(errors.New("no such problem")))
		return
	}
	h.waiting[c.CandidateID] = func(vs []schemas.Verdict, err error) { done(vs, err) }
	h.ctxs[c.CandidateID] = ctx
}

func (h *held) pending() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.waiting)
}

// releaseAll completes every held input, in reverse order of arrival, from one goroutine.
func (h *held) releaseAll() {
	h.mu.Lock()
	ids := make([]string, 0, len(h.waiting))
	for id := range h.waiting {
		ids = append(ids, id)
	}
	fs := h.waiting
	h.waiting = map[string]func([]schemas.Verdict, error){}
	h.mu.Unlock()
	for i := len(ids) - 1; i >= 0; i-- {
		fs[ids[i]]([]schemas.Verdict{{CandidateID: ids[i], Label: schemas.Pass, FailureKind: schemas.KindNone, RequestID: "r1"}}, nil)
	}
}

func TestAsyncRunnerHoldsInputsWithoutGoroutines(t *testing.T) {
	b := startBroker(t)
	in, out := pipelineTopics(t, b, 4)
	const n = 200
	cs := candidates(n)
	publishCandidates(t, b, in, cs...)

	h := newHeld()
	cfg := verdictRunnerConfig(t, b, uniqueName(t, "group"), in, out)
	cfg.Workers, cfg.MaxInFlight = 1, n
	r, err := NewAsyncRunner(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	stop := startRunner(t, r)
	waitFor(t, 30*time.Second, "every input held", func() bool { return h.pending() == n })
	// One worker started all n: a goroutine per held input would show here.
	if g := runtime.NumGoroutine() - before; g > 60 {
		t.Errorf("%d goroutines more while %d inputs are held, want far fewer than one per input", g, n)
	}
	if got := len(readVerdicts(t, b, out)); got != 0 {
		t.Fatalf("%d verdicts written before any input completed", got)
	}
	h.releaseAll()
	waitFor(t, 30*time.Second, "all inputs committed", func() bool { return r.Stats().Processed == n })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	got := countByID(readVerdicts(t, b, out))
	for _, c := range cs {
		if got[c.CandidateID] != 1 {
			t.Errorf("%s: %d verdicts, want 1", c.CandidateID, got[c.CandidateID])
		}
	}
}

func TestAsyncRunnerRetriesAndDeadLetters(t *testing.T) {
	b := startBroker(t)
	in, out := pipelineTopics(t, b, 1)
	cs := []schemas.Candidate{candidate(0), candidate(1), candidate(2)}
	publishCandidates(t, b, in, cs...)

	h := newHeld()
	h.failFor[cs[0].CandidateID] = 2
	h.dead[cs[1].CandidateID] = true
	r, err := NewAsyncRunner(verdictRunnerConfig(t, b, uniqueName(t, "group"), in, out), h)
	if err != nil {
		t.Fatal(err)
	}
	stop := startRunner(t, r)
	waitFor(t, 30*time.Second, "two inputs held", func() bool { return h.pending() == 2 })
	h.releaseAll()
	waitFor(t, 30*time.Second, "all inputs committed", func() bool { s := r.Stats(); return s.Processed+s.DeadLettered == 3 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if s := r.Stats(); s.Processed != 2 || s.DeadLettered != 1 || s.Errors < 2 {
		t.Errorf("stats %+v, want 2 processed, 1 dead letter, ≥ 2 retried errors", s)
	}
	if h.starts.Load() != 5 { // 3 tries of the first, one each for the others
		t.Errorf("%d starts, want 5", h.starts.Load())
	}
	dead, err := ReadDeadLetters(testCtx(t, 10*time.Second), brokersOf(b), DLQTopic(in))
	if err != nil || len(dead) != 1 || dead[0].Stage != StageProcess {
		t.Fatalf("dead letters %+v (%v), want one at stage %s", dead, err, StageProcess)
	}
}

func TestAsyncRunnerShutdownRedeliversHeldInputs(t *testing.T) {
	b := startBroker(t)
	in, out := pipelineTopics(t, b, 2)
	const n = 20
	cs := candidates(n)
	publishCandidates(t, b, in, cs...)
	group := uniqueName(t, "group")

	h := newHeld()
	cfg := verdictRunnerConfig(t, b, group, in, out)
	cfg.DrainTimeout, cfg.MaxInFlight = 200*time.Millisecond, n
	r, err := NewAsyncRunner(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	stop := startRunner(t, r)
	waitFor(t, 30*time.Second, "every input held", func() bool { return h.pending() == n })
	if err := stop(); err != nil { // held inputs are given up, not committed
		t.Fatal(err)
	}
	for id, ctx := range h.ctxs {
		if ctx.Err() == nil {
			t.Fatalf("%s: its context outlived the runner", id)
		}
	}
	h.releaseAll() // late callbacks are ignored
	if r.Stats().Processed != 0 {
		t.Fatalf("%d inputs committed after shutdown", r.Stats().Processed)
	}

	h2 := newHeld()
	cfg.DrainTimeout = 5 * time.Second
	r2, err := NewAsyncRunner(cfg, h2)
	if err != nil {
		t.Fatal(err)
	}
	stop2 := startRunner(t, r2)
	waitFor(t, 30*time.Second, "every input redelivered", func() bool { return h2.pending() == n })
	h2.releaseAll()
	waitFor(t, 30*time.Second, "all inputs committed", func() bool { return r2.Stats().Processed == n })
	if err := stop2(); err != nil {
		t.Fatal(err)
	}
	if got := countByID(readVerdicts(t, b, out)); len(got) != n {
		t.Fatalf("%d distinct verdicts, want %d", len(got), n)
	}
}

func TestNoOutputRunnerConsumesAndDeadLettersStrayOutputs(t *testing.T) {
	c := testCodecs(t)
	bad := RunnerConfig[schemas.Candidate, struct{}]{Cluster: Cluster{Brokers: []string{"127.0.0.1:1"}}, Group: "g", Input: "in", InCodec: c.Candidate, NoOutput: true, Output: "out"}
	if _, err := NewRunner(bad, ProcessorFunc[schemas.Candidate, struct{}](nil)); err == nil || !strings.Contains(err.Error(), "NoOutput with an output topic") {
		t.Fatalf("NoOutput with an output topic: %v", err)
	}

	b := startBroker(t)
	in, _ := pipelineTopics(t, b, 1)
	cs := []schemas.Candidate{candidate(0), candidate(1)}
	publishCandidates(t, b, in, cs...)
	var seen atomic.Int64
	r, err := NewRunner(RunnerConfig[schemas.Candidate, struct{}]{
		Cluster: brokersOf(b), Group: uniqueName(t, "group"), Input: in, InCodec: c.Candidate, NoOutput: true, Log: testLog(),
	}, ProcessorFunc[schemas.Candidate, struct{}](func(_ context.Context, cand schemas.Candidate) ([]struct{}, error) {
		seen.Add(1)
		if cand.CandidateID == cs[1].CandidateID {
			return []struct{}{{}}, nil // a bug: this runner writes nothing
		}
		return nil, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	stop := startRunner(t, r)
	waitFor(t, 30*time.Second, "both inputs committed", func() bool { s := r.Stats(); return s.Processed+s.DeadLettered == 2 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if s := r.Stats(); s.Processed != 1 || s.DeadLettered != 1 || s.Outputs != 0 || seen.Load() != 2 {
		t.Fatalf("stats %+v (seen %d), want one consumed, one dead-lettered, no outputs", s, seen.Load())
	}
}
