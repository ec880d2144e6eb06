package streams

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codeverify/codeverify/schemas"
	"github.com/segmentio/kafka-go"
)

func toVerdict(_ context.Context, c schemas.Candidate) ([]schemas.Verdict, error) {
	return []schemas.Verdict{verdictOf(c)}, nil
}

func TestPermanent(t *testing.T) {
	base := errors.New("bad input")
	if !IsPermanent(fmt.Errorf("wrapped: %w", Permanent(base))) {
		t.Error("a wrapped permanent error is not permanent")
	}
	if !errors.Is(Permanent(base), base) {
		t.Error("Permanent hides its cause")
	}
	if IsPermanent(base) || IsPermanent(nil) || Permanent(nil) != nil {
		t.Error("plain or nil errors must not be permanent")
	}
}

func TestNewRunnerValidatesConfig(t *testing.T) {
	c := testCodecs(t)
	_, err := NewRunner(RunnerConfig[schemas.Candidate, schemas.Verdict]{InCodec: c.Candidate}, ProcessorFunc[schemas.Candidate, schemas.Verdict](toVerdict))
	if err == nil || !strings.Contains(err.Error(), "no brokers") || !strings.Contains(err.Error(), "no output key") {
		t.Fatalf("want a config error naming every problem, got %v", err)
	}
}

func TestRunnerEndToEnd(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	in, out := pipelineTopics(t, b, 8)
	const n = 300
	cs := candidates(n)
	publishCandidates(t, b, in, cs...)

	r, err := NewRunner(verdictRunnerConfig(t, b, uniqueName(t, "group"), in, out), ProcessorFunc[schemas.Candidate, schemas.Verdict](toVerdict))
	if err != nil {
		t.Fatal(err)
	}
	stop := startRunner(t, r)
	waitFor(t, 30*time.Second, "all verdicts", func() bool { return r.Stats().Processed == n })
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}

	got := countByID(readVerdicts(t, b, out))
	for _, c := range cs {
		if got[c.CandidateID] != 1 {
			t.Errorf("%s: %d verdicts, want 1", c.CandidateID, got[c.CandidateID])
		}
	}
	if len(got) != n {
		t.Errorf("%d distinct verdicts, want %d", len(got), n)
	}
	if s := r.Stats(); s.Outputs != n || s.DeadLettered != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestRunnerDeadLetters(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	in, out := pipelineTopics(t, b, 1) // one partition: the good inputs come after the bad ones
	c := testCodecs(t)

	enc := func(cd schemas.Candidate) kafka.Message {
		v, err := c.Candidate.Encode(cd)
		if err != nil {
			t.Fatal(err)
		}
		return kafka.Message{Key: []byte(cd.ProblemID), Value: v}
	}
	huge := candidate(900)
	huge.Code = strings.Repeat("x", 8<<10)
	invalid := candidate(901)
	invalid.ProblemID = ""
	perm, boom := candidate(902), candidate(903)
	junk := kafka.Message{Key: []byte("junk-key"), Value: []byte("not avro at all")}
	publishRaw(t, b, in, junk, enc(huge), enc(invalid), enc(perm), enc(boom))
	const good = 10
	cs := candidates(good)
	publishCandidates(t, b, in, cs...)

	cfg := verdictRunnerConfig(t, b, uniqueName(t, "group"), in, out)
	cfg.MaxMessageBytes = 4 << 10
	proc := ProcessorFunc[schemas.Candidate, schemas.Verdict](func(ctx context.Context, cd schemas.Candidate) ([]schemas.Verdict, error) {
		switch cd.CandidateID {
		case perm.CandidateID:
			return nil, Permanent(errors.New("cannot ever run"))
		case boom.CandidateID:
			panic("processor bug")
		}
		return toVerdict(ctx, cd)
	})
	r, err := NewRunner(cfg, proc)
	if err != nil {
		t.Fatal(err)
	}
	stop := startRunner(t, r)
	waitFor(t, 30*time.Second, "good inputs processed", func() bool { return r.Stats().Processed == good })
	waitFor(t, 10*time.Second, "dead letters", func() bool { return r.Stats().DeadLettered == 5 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	if got := countByID(readVerdicts(t, b, out)); len(got) != good {
		t.Errorf("%d verdicts, want %d", len(got), good)
	}
	dls, err := ReadDeadLetters(testCtx(t, 10*time.Second), brokersOf(b), DLQTopic(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(dls) != 5 {
		t.Fatalf("%d dead letters, want 5: %+v", len(dls), dls)
	}
	want := []struct{ stage, reason string }{
		{StageDecode, "avro decode"},
		{StageDecode, ReasonOversized},
		{StageValidate, "empty problem_id"},
		{StageProcess, "cannot ever run"},
		{StageProcess, "panic: processor bug"},
	}
	for i, w := range want { // one partition, so the DLQ keeps the input order
		d := dls[i]
		if d.Stage != w.stage || !strings.Contains(d.Reason, w.reason) {
			t.Errorf("dead letter %d: stage %q reason %q, want %q containing %q", i, d.Stage, d.Reason, w.stage, w.reason)
		}
		if d.SourceTopic != in || d.SourcePartition != 0 || d.SourceOffset != int64(i) {
			t.Errorf("dead letter %d: source %s/%d@%d, want %s/0@%d", i, d.SourceTopic, d.SourcePartition, d.SourceOffset, in, i)
		}
	}
	if string(dls[0].Key) != "junk-key" || string(dls[0].Value) != "not avro at all" {
		t.Errorf("junk dead letter changed the message: %q=%q", dls[0].Key, dls[0].Value)
	}
	if len(dls[1].Value) <= 4<<10 {
		t.Errorf("oversized dead letter has %d bytes, want the original", len(dls[1].Value))
	}
}

func TestRunnerRetriesTransientErrors(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	in, out := pipelineTopics(t, b, 4)
	const n = 20
	cs := candidates(n)
	publishCandidates(t, b, in, cs...)

	flaky := cs[7].CandidateID
	var tries atomic.Int32
	proc := ProcessorFunc[schemas.Candidate, schemas.Verdict](func(ctx context.Context, cd schemas.Candidate) ([]schemas.Verdict, error) {
		if cd.CandidateID == flaky && tries.Add(1) < 3 {
			return nil, errors.New("executor busy")
		}
		return toVerdict(ctx, cd)
	})
	r, err := NewRunner(verdictRunnerConfig(t, b, uniqueName(t, "group"), in, out), proc)
	if err != nil {
		t.Fatal(err)
	}
	stop := startRunner(t, r)
	waitFor(t, 30*time.Second, "all verdicts", func() bool { return r.Stats().Processed == n })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := countByID(readVerdicts(t, b, out)); len(got) != n || got[flaky] != 1 {
		t.Errorf("%d distinct verdicts (want %d), flaky one %d times (want 1)", len(got), n, got[flaky])
	}
	if tries.Load() != 3 {
		t.Errorf("flaky input tried %d times, want 3", tries.Load())
	}
	if s := r.Stats(); s.Errors != 2 || s.DeadLettered != 0 {
		t.Errorf("stats %+v, want 2 errors and no dead letters", s)
	}
}

// countingRunner returns a runner whose processor records every input it sees.
func countingRunner(t *testing.T, b *Broker, group, in, out string, delay time.Duration) (*Runner[schemas.Candidate, schemas.Verdict], func() []string) {
	var mu sync.Mutex
	var seen []string
	proc := ProcessorFunc[schemas.Candidate, schemas.Verdict](func(ctx context.Context, cd schemas.Candidate) ([]schemas.Verdict, error) {
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		mu.Lock()
		seen = append(seen, cd.CandidateID)
		mu.Unlock()
		return toVerdict(ctx, cd)
	})
	r, err := NewRunner(verdictRunnerConfig(t, b, group, in, out), proc)
	if err != nil {
		t.Fatal(err)
	}
	return r, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

func TestRunnerGracefulShutdownCommits(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	in, out := pipelineTopics(t, b, 4)
	group := uniqueName(t, "group")
	const n = 100
	cs := candidates(n)
	publishCandidates(t, b, in, cs...)

	r1, _ := countingRunner(t, b, group, in, out, 0)
	stop1 := startRunner(t, r1)
	waitFor(t, 30*time.Second, "first run", func() bool { return r1.Stats().Processed == n })
	if err := stop1(); err != nil {
		t.Fatal(err)
	}

	// A restart of the same group must see only what arrived after the shutdown.
	r2, seen := countingRunner(t, b, group, in, out, 0)
	stop2 := startRunner(t, r2)
	sentinel := candidate(5000)
	publishCandidates(t, b, in, sentinel)
	waitFor(t, 30*time.Second, "sentinel", func() bool { return r2.Stats().Processed >= 1 })
	if err := stop2(); err != nil {
		t.Fatal(err)
	}
	if got := seen(); len(got) != 1 || got[0] != sentinel.CandidateID {
		t.Errorf("after a graceful shutdown the restart processed %v, want only %s", got, sentinel.CandidateID)
	}
}

func TestRunnerAbortThenRestartLosesNothing(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	in, out := pipelineTopics(t, b, 4)
	group := uniqueName(t, "group")
	const n = 300
	cs := candidates(n)
	publishCandidates(t, b, in, cs...)

	// The first instance hangs from its 100th input on, so the crash surely finds work in flight.
	var calls atomic.Int32
	hang := ProcessorFunc[schemas.Candidate, schemas.Verdict](func(ctx context.Context, cd schemas.Candidate) ([]schemas.Verdict, error) {
		if calls.Add(1) > 100 {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return toVerdict(ctx, cd)
	})
	r1, err := NewRunner(verdictRunnerConfig(t, b, group, in, out), hang)
	if err != nil {
		t.Fatal(err)
	}
	stop1 := startRunner(t, r1)
	waitFor(t, 30*time.Second, "the first instance to get stuck", func() bool { return calls.Load() > 100 && r1.Stats().Processed > 0 })
	r1.Abort()
	if err := stop1(); !errors.Is(err, ErrAborted) {
		t.Fatalf("Run after Abort: %v, want ErrAborted", err)
	}
	if p := r1.Stats().Processed; p >= n {
		t.Fatalf("the crash came too late to test anything: %d of %d done", p, n)
	}

	r2, seen2 := countingRunner(t, b, group, in, out, 0)
	stop2 := startRunner(t, r2)
	waitFor(t, 30*time.Second, "every input has a verdict", func() bool {
		return len(countByID(readVerdicts(t, b, out))) == n
	})
	if err := stop2(); err != nil {
		t.Fatal(err)
	}
	// The restart resumed from the committed offsets instead of starting over.
	if len(seen2()) >= n {
		t.Errorf("restart reprocessed %d inputs: offsets were not committed before the crash", len(seen2()))
	}
	t.Logf("before the crash: %d committed; after: %d processed", r1.Stats().Processed, len(seen2()))
}

func TestBrokerRestartKeepsTopicsAndOffsets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b, err := StartBroker(dir, 0, testLog())
	if err != nil {
		t.Fatal(err)
	}
	in, out := pipelineTopics(t, b, 4)
	group := uniqueName(t, "group")
	const n = 50
	cs := candidates(n)
	publishCandidates(t, b, in, cs...)
	r1, _ := countingRunner(t, b, group, in, out, 0)
	stop1 := startRunner(t, r1)
	waitFor(t, 30*time.Second, "first run", func() bool { return r1.Stats().Processed == n })
	if err := stop1(); err != nil {
		t.Fatal(err)
	}
	addr := b.Addr()
	b.Close()

	var port int
	if _, err := fmt.Sscanf(addr[strings.LastIndex(addr, ":")+1:], "%d", &port); err != nil {
		t.Fatal(err)
	}
	b, err = StartBroker(dir, port, testLog())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	if b.Addr() != addr {
		t.Fatalf("restarted on %s, want %s", b.Addr(), addr)
	}
	if got := len(readVerdicts(t, b, out)); got != n {
		t.Fatalf("after restart the output has %d verdicts, want %d", got, n)
	}

	r2, seen := countingRunner(t, b, group, in, out, 0)
	stop2 := startRunner(t, r2)
	publishCandidates(t, b, in, candidate(5000))
	waitFor(t, 30*time.Second, "sentinel", func() bool { return r2.Stats().Processed >= 1 })
	if err := stop2(); err != nil {
		t.Fatal(err)
	}
	if got := seen(); len(got) != 1 {
		t.Errorf("after the broker restart the group reprocessed %v: committed offsets were lost", got)
	}
}

func TestRunnerShutdownDuringRetriesKeepsInput(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	in, out := pipelineTopics(t, b, 1) // one partition: nothing behind the stuck input may be committed
	group := uniqueName(t, "group")
	const n, stuckAt = 10, 3
	cs := candidates(n)
	publishCandidates(t, b, in, cs...)

	var tries atomic.Int32
	failing := ProcessorFunc[schemas.Candidate, schemas.Verdict](func(ctx context.Context, cd schemas.Candidate) ([]schemas.Verdict, error) {
		if cd.CandidateID == cs[stuckAt].CandidateID {
			tries.Add(1)
			return nil, errors.New("sandbox unavailable")
		}
		return toVerdict(ctx, cd)
	})
	r1, err := NewRunner(verdictRunnerConfig(t, b, group, in, out), failing)
	if err != nil {
		t.Fatal(err)
	}
	stop1 := startRunner(t, r1)
	waitFor(t, 30*time.Second, "retries", func() bool { return tries.Load() >= 2 })
	if err := stop1(); err != nil {
		t.Fatal(err)
	}
	if p := r1.Stats().Processed; p != stuckAt {
		t.Errorf("first run committed %d inputs, want the %d before the stuck one", p, stuckAt)
	}

	r2, err := NewRunner(verdictRunnerConfig(t, b, group, in, out), ProcessorFunc[schemas.Candidate, schemas.Verdict](toVerdict))
	if err != nil {
		t.Fatal(err)
	}
	stop2 := startRunner(t, r2)
	waitFor(t, 30*time.Second, "the rest", func() bool { return r2.Stats().Processed == n-stuckAt })
	if err := stop2(); err != nil {
		t.Fatal(err)
	}
	if got := countByID(readVerdicts(t, b, out)); len(got) != n {
		t.Errorf("%d distinct verdicts, want %d", len(got), n)
	}
}

func TestRunnerDrain(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	// drainRun publishes one input whose Process takes work, cancels the runner as soon as Process
	// started, and reports how long Run took to return and what it committed.
	drainRun := func(drain time.Duration, work func(ctx context.Context) error) (time.Duration, Stats) {
		in, out := pipelineTopics(t, b, 1)
		publishCandidates(t, b, in, candidate(1))
		started := make(chan struct{})
		proc := ProcessorFunc[schemas.Candidate, schemas.Verdict](func(ctx context.Context, cd schemas.Candidate) ([]schemas.Verdict, error) {
			close(started)
			if err := work(ctx); err != nil {
				return nil, err
			}
			return toVerdict(ctx, cd)
		})
		cfg := verdictRunnerConfig(t, b, uniqueName(t, "group"), in, out)
		cfg.DrainTimeout = drain
		r, err := NewRunner(cfg, proc)
		if err != nil {
			t.Fatal(err)
		}
		stop := startRunner(t, r)
		select {
		case <-started:
		case <-time.After(30 * time.Second):
			t.Fatal("Process never called")
		}
		begin := time.Now()
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		return time.Since(begin), r.Stats()
	}

	// Work in flight at shutdown finishes, is written and committed.
	took, st := drainRun(5*time.Second, func(ctx context.Context) error {
		select {
		case <-time.After(300 * time.Millisecond):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	if st.Processed != 1 || took > 4*time.Second {
		t.Errorf("slow in-flight input: processed %d (want 1), shutdown took %v", st.Processed, took)
	}

	// Work that cannot finish is abandoned (left for redelivery) once DrainTimeout passes.
	took, st = drainRun(300*time.Millisecond, func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	})
	if st.Processed != 0 || took < 300*time.Millisecond || took > 3*time.Second {
		t.Errorf("stuck input: processed %d (want 0), shutdown took %v (want just over 300ms)", st.Processed, took)
	}
}

// partitionOf returns each candidate's input partition, read back from the topic.
func partitionOf(t *testing.T, b *Broker, topic string, partitions int) map[string]int {
	t.Helper()
	c := testCodecs(t)
	where := map[string]int{}
	for p := range partitions {
		err := readPartition(testCtx(t, 10*time.Second), brokersOf(b), topic, p, func(m kafka.Message) {
			cd, err := c.Candidate.Decode(m.Value)
			if err != nil {
				t.Fatal(err)
			}
			where[cd.CandidateID] = p
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return where
}

func TestRunnerSlowInputHoldsBackOnlyItsPartition(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	in, out := pipelineTopics(t, b, 2)
	group := uniqueName(t, "group")
	const n = 60
	var cs []schemas.Candidate
	for i := range n {
		c := candidate(i)
		c.ProblemID = fmt.Sprintf("q%d", i) // the key: spread over both partitions
		cs = append(cs, c)
	}
	publishCandidates(t, b, in, cs...) // the slow one, cs[0], is first in its partition
	where := partitionOf(t, b, in, 2)
	slowPart := where[cs[0].CandidateID]
	var behind, others []string // inputs after the slow one in its partition; inputs of the other partition
	for _, c := range cs[1:] {
		if where[c.CandidateID] == slowPart {
			behind = append(behind, c.CandidateID)
		} else {
			others = append(others, c.CandidateID)
		}
	}
	if len(behind) == 0 || len(others) == 0 {
		t.Fatalf("keys did not spread over both partitions: %d behind, %d other", len(behind), len(others))
	}

	// The first instance never finishes the slow input (a timeout candidate that outlives the run).
	var done atomic.Int32
	slow := ProcessorFunc[schemas.Candidate, schemas.Verdict](func(ctx context.Context, cd schemas.Candidate) ([]schemas.Verdict, error) {
		if cd.CandidateID == cs[0].CandidateID {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		done.Add(1)
		return toVerdict(ctx, cd)
	})
	cfg := verdictRunnerConfig(t, b, group, in, out)
	// Room for everything: credits are shared by all partitions, so once MaxInFlight inputs wait
	// behind the slow one, fetching (every partition's) waits too.
	cfg.MaxInFlight = 4 * n
	r1, err := NewRunner(cfg, slow)
	if err != nil {
		t.Fatal(err)
	}
	stop1 := startRunner(t, r1)
	waitFor(t, 30*time.Second, "the other partition committed", func() bool { return r1.Stats().Processed == int64(len(others)) })
	waitFor(t, 10*time.Second, "everything but the slow input processed", func() bool { return done.Load() == n-1 })
	time.Sleep(300 * time.Millisecond) // a commit past the slow input would show up here
	if p := r1.Stats().Processed; p != int64(len(others)) {
		t.Errorf("committed %d inputs, want the other partition's %d (nothing behind the slow input)", p, len(others))
	}
	r1.Abort()
	if err := stop1(); !errors.Is(err, ErrAborted) {
		t.Fatalf("Run after Abort: %v", err)
	}

	// The restart redoes the slow input and what was behind it, nothing of the other partition.
	r2, seen := countingRunner(t, b, group, in, out, 0)
	stop2 := startRunner(t, r2)
	waitFor(t, 30*time.Second, "the slow partition", func() bool { return r2.Stats().Processed == int64(len(behind)+1) })
	if err := stop2(); err != nil {
		t.Fatal(err)
	}
	got := seen()
	slices.Sort(got)
	want := append([]string{cs[0].CandidateID}, behind...)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("restart processed %v, want the slow partition's %v", got, want)
	}
	if v := countByID(readVerdicts(t, b, out)); len(v) != n {
		t.Errorf("%d distinct verdicts, want %d", len(v), n)
	}
}

func TestRunnerRebalanceHandsOverPartitions(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	in, out := pipelineTopics(t, b, 4)
	group := uniqueName(t, "group")
	var next atomic.Int32
	publish := func(k int) {
		var cs []schemas.Candidate
		for range k {
			cs = append(cs, candidate(int(next.Add(1))))
		}
		publishCandidates(t, b, in, cs...)
	}
	publish(40)

	var logs1 strings.Builder
	var mu sync.Mutex
	cfg := verdictRunnerConfig(t, b, group, in, out)
	cfg.Log = slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs1}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	r1, err := NewRunner(cfg, ProcessorFunc[schemas.Candidate, schemas.Verdict](toVerdict))
	if err != nil {
		t.Fatal(err)
	}
	stop1 := startRunner(t, r1)
	waitFor(t, 30*time.Second, "first member", func() bool { return r1.Stats().Processed == 40 })
	r2, _ := countingRunner(t, b, group, in, out, 0)
	stop2 := startRunner(t, r2)
	// The first member must have been given a new, smaller assignment.
	waitFor(t, 30*time.Second, "the second member's share", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Count(logs1.String(), "partitions assigned") >= 2
	})
	publish(60)
	waitFor(t, 30*time.Second, "every input has a verdict", func() bool { return len(countByID(readVerdicts(t, b, out))) == 100 })
	if err := stop1(); err != nil {
		t.Fatal(err)
	}
	if err := stop2(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs1.String(), "partitions=\"[0 1 2 3]\"") && !strings.Contains(logs1.String(), "partitions=[0 1 2 3]") {
		t.Errorf("the first member never logged owning all four partitions:\n%s", logs1.String())
	}
	t.Logf("second member processed %d", r2.Stats().Processed)
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestPermanentReasonHasOnePrefix: marking an error permanent twice, or marking one whose own
// message already says it is permanent (the generator's ErrPermanent family), gives a dead-letter
// reason with a single "permanent: " prefix.
func TestPermanentReasonHasOnePrefix(t *testing.T) {
	genPermanent := errors.New("permanent") // generator.ErrPermanent's shape
	gaveUp := fmt.Errorf("%w: gave up", genPermanent)
	for _, tc := range []struct {
		err  error
		want string
	}{
		{Permanent(errors.New("boom")), "permanent: boom"},
		{Permanent(Permanent(errors.New("boom"))), "permanent: boom"},
		{Permanent(fmt.Errorf("wrapped: %w", Permanent(errors.New("boom")))), "wrapped: permanent: boom"},
		{Permanent(fmt.Errorf("%w after 4 attempts: 500", gaveUp)), "permanent: gave up after 4 attempts: 500"},
		{Permanent(genPermanent), "permanent"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("reason %q, want %q", got, tc.want)
		}
		if !IsPermanent(tc.err) {
			t.Errorf("%q: not permanent", tc.err)
		}
	}
}
