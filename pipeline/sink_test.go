package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codeverify/codeverify/internal/testkit"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/sinks/clickhouse"
	"github.com/codeverify/codeverify/streams"
)

// A failed insert is retried with the same batch; its dead letters are not sent again.
func TestSinkRetryDoesNotRepeatDeadLetters(t *testing.T) {
	env, codecs, _ := brokerEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	bad := testkit.SinkVerdict("r2", 1, true)
	bad.CandidateID = ""
	p := streams.NewProducer(env.Cluster(), streams.TopicVerdicts, codecs.Verdict, func(v schemas.Verdict) string { return "k" })
	defer p.Close()
	if err := p.Publish(ctx, testkit.SinkVerdict("r2", 0, true), bad); err != nil {
		t.Fatal(err)
	}
	var calls []int
	written := make(chan struct{})
	st := verdictStage(codecs, nil) // the write is replaced: no ClickHouse
	st.write = func(ctx context.Context, vs []schemas.Verdict) error {
		calls = append(calls, len(vs))
		if len(calls) == 1 {
			return fmt.Errorf("clickhouse: connection reset (injected)")
		}
		close(written)
		return nil
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- runSinkStage(sctx, env, st) }()
	defer func() { stop(); <-done }()
	select {
	case <-written:
	case <-ctx.Done():
		t.Fatal("the batch was not written")
	}
	if !slices.Equal(calls, []int{1, 1}) {
		t.Fatalf("write calls with %v rows, want the one valid verdict twice", calls)
	}
	dead, err := streams.ReadDeadLetters(ctx, env.Cluster(), streams.DLQTopic(streams.TopicVerdicts))
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dead))
	}
}

// A writer's refusal of a row for its content is permanent (the batch is halved down to the row and
// it is dead-lettered), and nothing else is.
func TestInvalidRowsArePermanent(t *testing.T) {
	bad := testkit.SinkVerdict("r1", 0, true)
	bad.CandidateID = ""
	invalid := clickhouse.CheckVerdict(bad)
	for _, c := range []struct {
		err       error
		permanent bool
	}{
		{invalid, true},
		{fmt.Errorf("insert: %w", invalid), true},
		{streams.Permanent(invalid), true},
		{errors.New("clickhouse: insert 3 verdicts: connection refused"), false},
		{context.DeadlineExceeded, false},
	} {
		if streams.IsPermanent(c.err) != c.permanent {
			t.Errorf("%v: permanent %v, want %v", c.err, streams.IsPermanent(c.err), c.permanent)
		}
	}
	if got := invalid.Error(); !strings.HasPrefix(got, "permanent: clickhouse: invalid row: ") || strings.Count(got, "permanent") != 1 {
		t.Errorf("reason %q, want one permanent prefix", got)
	}
}

// A writer that refuses a batch for one row's content (as WriteVerdicts does with ErrInvalidRow, its
// check run before sending anything) when the stage's own check let the row through: the sink
// stage must not retry the batch for ever but dead-letter the rows at fault (stage "write") and
// write the rest. No ClickHouse: the writer is a fake.
func TestSinkStageDeadLettersRowsTheWriterRefuses(t *testing.T) {
	a, codecs, logs := brokerEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var err error
	good := []schemas.Verdict{testkit.SinkVerdict("r1", 0, true), testkit.SinkVerdict("r1", 1, false), testkit.SinkVerdict("r1", 2, true)}
	noID := testkit.SinkVerdict("r1", 3, true)
	noID.CandidateID = ""
	badTime := testkit.SinkVerdict("r1", 4, false)
	badTime.ExecutedAtMs = -1
	p := streams.NewProducer(a.Cluster(), streams.TopicVerdicts, codecs.Verdict, func(schemas.Verdict) string { return "k" })
	defer p.Close()
	if err := p.Publish(ctx, good[0], noID, good[1], badTime, good[2]); err != nil { // one key: one batch
		t.Fatal(err)
	}

	var mu sync.Mutex
	stored := map[int32]bool{}
	calls := 0
	st := sinkStage[schemas.Verdict]{
		table: "verdicts", topic: streams.TopicVerdicts, group: streams.GroupSinkVerdicts, codec: codecs.Verdict,
		key:   func(v schemas.Verdict) string { return v.CandidateID },
		check: nil, // the writer alone knows these rows are bad
		write: func(_ context.Context, vs []schemas.Verdict) error {
			mu.Lock()
			defer mu.Unlock()
			calls++
			for _, v := range vs { // all or nothing, like WriteVerdicts
				if err := clickhouse.CheckVerdict(v); err != nil {
					return err
				}
			}
			for _, v := range vs {
				stored[v.SampleIndex] = true
			}
			return nil
		},
	}
	done := make(chan error, 1)
	sctx, stop := context.WithCancel(ctx)
	go func() { done <- runSinkStage(sctx, a, st) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("runSinkStage: %v", err)
		}
	}()

	var dead []streams.DeadLetter
	for deadline := time.Now().Add(30 * time.Second); len(dead) < 2 && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if dead, err = streams.ReadDeadLetters(ctx, a.Cluster(), streams.DLQTopic(streams.TopicVerdicts)); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, d := range dead {
		v, err := codecs.Verdict.Decode(d.Value)
		if err != nil {
			t.Fatalf("dead letter does not decode: %v", err)
		}
		got = append(got, fmt.Sprintf("%d %s %s", v.SampleIndex, d.Stage, d.Reason))
	}
	slices.Sort(got)
	if len(got) != 2 || !strings.HasPrefix(got[0], "3 write ") || !strings.Contains(got[0], "empty candidate_id") ||
		!strings.HasPrefix(got[1], "4 write ") || !strings.Contains(got[1], "negative executed_at_ms") {
		t.Fatalf("dead letters %q, want samples 3 and 4 at stage write with their reasons", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(stored) != 3 || !stored[0] || !stored[1] || !stored[2] {
		t.Errorf("stored samples %v, want 0, 1 and 2", stored)
	}
	if strings.Contains(logs.String(), "batch write failed, will retry") {
		t.Errorf("the batch was retried as a transient failure:\n%s", logs.String())
	}
	t.Logf("%d write calls", calls)
}

// A batch holding invalid verdicts among good ones, written to ClickHouse: the good ones are written,
// each invalid one is dead-lettered with the reason it was refused, and the batch is not retried for
// ever.
func TestSinkDeadLettersInvalidVerdictsAndWritesTheRest(t *testing.T) {
	e := newE2EEnv(t)
	logs := e.logs
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	good := []schemas.Verdict{testkit.SinkVerdict("r1", 0, true), testkit.SinkVerdict("r1", 1, false), testkit.SinkVerdict("r1", 2, true)}
	noID := testkit.SinkVerdict("r1", 3, true)
	noID.CandidateID = ""
	// The label is an Avro enum, so no bad label gets this far; a negative version column does.
	badTime := testkit.SinkVerdict("r1", 4, false)
	badTime.ExecutedAtMs = -1
	batch := []schemas.Verdict{good[0], noID, good[1], badTime, good[2]}
	p := streams.NewProducer(e.env.Cluster(), streams.TopicVerdicts, e.codecs.Verdict, func(v schemas.Verdict) string { return "k" })
	defer p.Close()
	// One key: the five share a partition, so they arrive in one batch.
	if err := p.Publish(ctx, batch...); err != nil {
		t.Fatal(err)
	}
	e.startSink(t, ctx)

	if rows, distinct := waitVerdicts(t, e, 3, 30*time.Second); rows != 3 || distinct != 3 {
		t.Fatalf("verdicts in ClickHouse: %d rows, %d distinct; want the 3 valid ones", rows, distinct)
	}
	var dead []streams.DeadLetter
	for deadline := time.Now().Add(10 * time.Second); len(dead) < 2 && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		var err error
		if dead, err = streams.ReadDeadLetters(ctx, e.env.Cluster(), streams.DLQTopic(streams.TopicVerdicts)); err != nil {
			t.Fatal(err)
		}
	}
	if len(dead) != 2 {
		t.Fatalf("%d dead letters in %s, want 2", len(dead), streams.DLQTopic(streams.TopicVerdicts))
	}
	var got []string
	for _, d := range dead {
		v, err := e.codecs.Verdict.Decode(d.Value)
		if err != nil {
			t.Fatalf("dead letter does not decode: %v", err)
		}
		got = append(got, fmt.Sprintf("%d %s", v.SampleIndex, v.Label))
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"3 PASS", "4 FAIL"}) {
		t.Fatalf("dead letters %v, want samples 3 and 4", got)
	}
	// The reason of each is logged with the dead letter's key (the streams batch consumer offers no
	// way yet to put it in the dlq.reason header).
	for _, want := range []string{"empty candidate_id", "negative executed_at_ms -1"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no dead-letter log line with reason %q in:\n%s", want, logs.String())
		}
	}
	if strings.Contains(logs.String(), "batch write failed") {
		t.Errorf("the batch was retried:\n%s", logs.String())
	}
}
