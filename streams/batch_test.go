package streams

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codeverify/codeverify/schemas"
	"github.com/segmentio/kafka-go"
)

// batchCollector is a sink that fails its first failFirst writes (or every write when failFirst < 0).
type batchCollector struct {
	mu        sync.Mutex
	failFirst int
	calls     int
	rows      []schemas.Verdict
}

func (c *batchCollector) write(_ context.Context, batch []schemas.Verdict) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if c.failFirst < 0 || c.calls <= c.failFirst {
		return errors.New("clickhouse unavailable")
	}
	c.rows = append(c.rows, batch...)
	return nil
}

func (c *batchCollector) snapshot() (calls int, rows []schemas.Verdict) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls, append([]schemas.Verdict(nil), c.rows...)
}

func runBatchesInBackground(t *testing.T, cfg BatchConfig[schemas.Verdict], c *batchCollector) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- RunBatches(ctx, cfg, c.write) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("RunBatches did not stop within 30s")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func TestRunBatchesCommitsOnlyAfterWrite(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	topic := uniqueName(t, "verdicts")
	if err := EnsureTopics(testCtx(t, 10*time.Second), brokersOf(b), Catalog{
		{Name: topic, Partitions: 4}, {Name: DLQTopic(topic), Partitions: 1},
	}); err != nil {
		t.Fatal(err)
	}
	codec := testCodecs(t).Verdict
	const n = 120
	want := map[string]bool{}
	var vs []schemas.Verdict
	for i := range n {
		v := verdictOf(candidate(i))
		vs = append(vs, v)
		want[v.CandidateID] = true
	}
	p := NewProducer(brokersOf(b), topic, codec, func(v schemas.Verdict) string { return v.CandidateID })
	defer p.Close()
	if err := p.Publish(testCtx(t, 10*time.Second), vs...); err != nil {
		t.Fatal(err)
	}
	publishRaw(t, b, topic, kafka.Message{Value: []byte{0xc3, 0x01, 0xff}})

	group := uniqueName(t, "group")
	cfg := BatchConfig[schemas.Verdict]{
		Cluster: brokersOf(b), Group: group, Topic: topic, Codec: codec,
		MaxBatch: 50, MaxWait: 200 * time.Millisecond, DrainTimeout: 300 * time.Millisecond, Log: testLog(),
	}

	// 1. The sink is down for the whole run: nothing may be committed.
	down := &batchCollector{failFirst: -1}
	stop := runBatchesInBackground(t, cfg, down)
	waitFor(t, 30*time.Second, "failed writes", func() bool { calls, _ := down.snapshot(); return calls >= 2 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// 2. The sink fails once more, then works: every row arrives.
	flaky := &batchCollector{failFirst: 1}
	stop = runBatchesInBackground(t, cfg, flaky)
	waitFor(t, 30*time.Second, "all rows", func() bool {
		_, rows := flaky.snapshot()
		got := map[string]bool{}
		for _, r := range rows {
			got[r.CandidateID] = true
		}
		return len(got) == n
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for _, r := range func() []schemas.Verdict { _, rows := flaky.snapshot(); return rows }() {
		if !want[r.CandidateID] {
			t.Errorf("unexpected row %s", r.CandidateID)
		}
	}
	dls, err := ReadDeadLetters(testCtx(t, 10*time.Second), brokersOf(b), DLQTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	// Dead letters are stored before their batch is written, so a batch written twice (the first
	// run gave up) stores them twice: same source offset, at-least-once like everything else.
	if len(dls) == 0 {
		t.Error("no dead letter for the undecodable message")
	}
	for _, d := range dls {
		if d.Stage != StageDecode || d.SourceTopic != topic || d.SourceOffset != dls[0].SourceOffset || d.SourcePartition != dls[0].SourcePartition {
			t.Errorf("dead letter %+v, want the decode failure from %s", d, topic)
		}
	}

	// 3. Everything was committed after the successful writes: a restart sees only new rows.
	after := &batchCollector{}
	stop = runBatchesInBackground(t, cfg, after)
	sentinel := verdictOf(candidate(5000))
	if err := p.Publish(testCtx(t, 10*time.Second), sentinel); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "sentinel row", func() bool { _, rows := after.snapshot(); return len(rows) >= 1 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, rows := after.snapshot(); len(rows) != 1 || rows[0].CandidateID != sentinel.CandidateID {
		t.Errorf("restart wrote %d rows, want only the sentinel", len(rows))
	}
}

// Bad events among good ones: the undecodable and the invalid are dead-lettered before the batch is
// written, those write rejects (by index, or only as a permanent failure of the batch) after; the
// good ones are written, everything is committed once, and nothing loops.
func TestRunBatchesDeadLettersBadEventsAndWritesTheRest(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	topic := uniqueName(t, "verdicts")
	if err := EnsureTopics(testCtx(t, 10*time.Second), brokersOf(b), Catalog{
		{Name: topic, Partitions: 2}, {Name: DLQTopic(topic), Partitions: 1},
	}); err != nil {
		t.Fatal(err)
	}
	codec := testCodecs(t).Verdict
	var vs []schemas.Verdict
	for i := range 40 {
		vs = append(vs, verdictOf(candidate(i)))
	}
	invalid := verdictOf(candidate(100))
	invalid.ProblemID = ""
	refused := verdictOf(candidate(101))   // write names it in a Rejected
	poisonous := verdictOf(candidate(102)) // write fails the whole batch permanently while it is in it
	vs = append(vs[:20], append([]schemas.Verdict{invalid, refused, poisonous}, vs[20:]...)...)
	p := NewProducer(brokersOf(b), topic, codec, func(v schemas.Verdict) string { return v.CandidateID })
	defer p.Close()
	if err := p.Publish(testCtx(t, 10*time.Second), vs...); err != nil {
		t.Fatal(err)
	}
	publishRaw(t, b, topic, kafka.Message{Key: []byte("junk"), Value: []byte{0xc3, 0x01, 0xff}})

	var mu sync.Mutex
	calls := 0
	written := map[string]int{}
	var dlqAtFirstWrite int
	write := func(ctx context.Context, batch []schemas.Verdict) error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 {
			dls, err := ReadDeadLetters(ctx, brokersOf(b), DLQTopic(topic))
			if err != nil {
				return err
			}
			dlqAtFirstWrite = len(dls)
		}
		var errs []error
		for i, v := range batch {
			switch v.CandidateID {
			case poisonous.CandidateID:
				return Permanent(errors.New("Code: 53, type mismatch"))
			case refused.CandidateID:
				errs = append(errs, &Rejected{Index: i, Err: errors.New("Code: 70, value out of range")})
			}
		}
		if len(errs) > 0 {
			return fmt.Errorf("insert: %w", errors.Join(errs...))
		}
		for _, v := range batch {
			written[v.CandidateID]++
		}
		return nil
	}
	validate := func(v schemas.Verdict) error {
		if v.ProblemID == "" {
			return fmt.Errorf("verdict %s has no problem_id", v.CandidateID)
		}
		return nil
	}
	var dlStages sync.Map
	cfg := BatchConfig[schemas.Verdict]{
		Cluster: brokersOf(b), Group: uniqueName(t, "group"), Topic: topic, Codec: codec, Validate: validate,
		MaxBatch: 1000, MaxWait: 500 * time.Millisecond, DrainTimeout: 2 * time.Second, Log: testLog(),
		OnDeadLettered: func(stage string, n int) {
			v, _ := dlStages.LoadOrStore(stage, new(atomic.Int64))
			v.(*atomic.Int64).Add(int64(n))
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- RunBatches(ctx, cfg, write) }()
	waitFor(t, 30*time.Second, "the good events", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(written) == 40
	})
	var dls []DeadLetter
	waitFor(t, 30*time.Second, "four dead letters", func() bool {
		var err error
		dls, err = ReadDeadLetters(testCtx(t, 10*time.Second), brokersOf(b), DLQTopic(topic))
		return err == nil && len(dls) >= 4
	})
	time.Sleep(time.Second) // a loop would show as more calls and more dead letters
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, v := range vs {
		bad := v.CandidateID == invalid.CandidateID || v.CandidateID == refused.CandidateID || v.CandidateID == poisonous.CandidateID
		if got := written[v.CandidateID]; bad && got != 0 || !bad && got != 1 {
			t.Errorf("%s written %d times", v.CandidateID, got)
		}
	}
	if calls > 20 {
		t.Errorf("%d write calls for one batch: retrying something that can never succeed", calls)
	}
	if dlqAtFirstWrite < 2 {
		t.Errorf("%d dead letters stored when the batch was first written, want the undecodable and the invalid one", dlqAtFirstWrite)
	}
	want := map[string]string{ // key → stage
		"junk": StageDecode, invalid.CandidateID: StageValidate, refused.CandidateID: StageWrite, poisonous.CandidateID: StageWrite,
	}
	if len(dls) != len(want) {
		t.Errorf("%d dead letters, want %d: %+v", len(dls), len(want), dls)
	}
	for _, d := range dls {
		stage, ok := want[string(d.Key)]
		if !ok || d.Stage != stage || d.Reason == "" || d.SourceTopic != topic {
			t.Errorf("dead letter key %q stage %q reason %q from %q; want stage %q with a reason", d.Key, d.Stage, d.Reason, d.SourceTopic, stage)
		}
		if string(d.Key) == refused.CandidateID && !strings.Contains(d.Reason, "Code: 70") {
			t.Errorf("rejected event's reason %q lacks the writer's error", d.Reason)
		}
	}
	for stage, n := range map[string]int64{StageDecode: 1, StageValidate: 1, StageWrite: 2} {
		v, _ := dlStages.LoadOrStore(stage, new(atomic.Int64))
		if got := v.(*atomic.Int64).Load(); got != n {
			t.Errorf("OnDeadLettered(%s) counted %d, want %d", stage, got, n)
		}
	}

	// Everything was committed: a restart writes nothing again.
	calls = 0
	mu.Unlock()
	ctx, cancel = context.WithCancel(context.Background())
	go func() { done <- RunBatches(ctx, cfg, write) }()
	time.Sleep(8 * time.Second)
	cancel()
	<-done
	mu.Lock()
	if calls != 0 {
		t.Errorf("restart wrote %d batches; the first run's were not all committed", calls)
	}
}

// A member whose generation ended while its batch was being written must not commit it: the
// partition's next owner gets the batch again.
func TestRunBatchesCommitsNothingAfterItsGenerationEnded(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	topic := uniqueName(t, "verdicts")
	if err := EnsureTopics(testCtx(t, 10*time.Second), brokersOf(b), Catalog{
		{Name: topic, Partitions: 1}, {Name: DLQTopic(topic), Partitions: 1},
	}); err != nil {
		t.Fatal(err)
	}
	codec := testCodecs(t).Verdict
	var vs []schemas.Verdict
	for i := range 10 {
		vs = append(vs, verdictOf(candidate(i)))
	}
	p := NewProducer(brokersOf(b), topic, codec, func(v schemas.Verdict) string { return v.CandidateID })
	defer p.Close()
	if err := p.Publish(testCtx(t, 10*time.Second), vs...); err != nil {
		t.Fatal(err)
	}
	cfg := BatchConfig[schemas.Verdict]{
		Cluster: brokersOf(b), Group: uniqueName(t, "group"), Topic: topic, Codec: codec,
		MaxWait: 200 * time.Millisecond, DrainTimeout: time.Second, Log: testLog(),
	}
	// The first member "writes" until its generation ends, then claims success, and stops; should it
	// be given the partition again meanwhile, its writes fail, so only a commit of the ended
	// generation could keep the batch from the second member.
	inWrite := make(chan struct{})
	var calls atomic.Int32
	ctx1, cancel1 := context.WithCancel(context.Background())
	first := func(ctx context.Context, batch []schemas.Verdict) error {
		if calls.Add(1) > 1 {
			return errors.New("broken")
		}
		close(inWrite)
		<-ctx.Done()
		cancel1()
		return nil
	}
	done1 := make(chan error, 1)
	go func() { done1 <- RunBatches(ctx1, cfg, first) }()
	defer func() { cancel1(); <-done1 }()
	select {
	case <-inWrite:
	case <-time.After(30 * time.Second):
		t.Fatal("the first member never wrote")
	}
	// The second member's joining ends the first one's generation. It gets the partition only if
	// the first member lost it; it must then read it from the start.
	second := &batchCollector{}
	stop2 := runBatchesInBackground(t, cfg, second)
	waitFor(t, 40*time.Second, "the batch redelivered to the second member", func() bool {
		_, rows := second.snapshot()
		return len(rows) >= len(vs)
	})
	if err := stop2(); err != nil {
		t.Fatal(err)
	}
	if _, rows := second.snapshot(); len(countByID(rows)) != len(vs) {
		t.Errorf("second member got %d distinct events, want %d", len(countByID(rows)), len(vs))
	}
}

// A generation's commit is refused once the generation ended, by commitGeneration's own check and
// by the broker.
func TestCommitRefusedAfterTheGenerationEnded(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	topic := uniqueName(t, "topic")
	if err := EnsureTopics(testCtx(t, 10*time.Second), brokersOf(b), Catalog{{Name: topic, Partitions: 1}}); err != nil {
		t.Fatal(err)
	}
	group := uniqueName(t, "group")
	tm := groupTimeouts{session: 6 * time.Second, heartbeat: 500 * time.Millisecond, rebalance: 5 * time.Second}
	cg1, err := newConsumerGroup(brokersOf(b), group, topic, tm, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cg1.Close()
	ctx := testCtx(t, 40*time.Second)
	kg1, err := cg1.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ended := make(chan struct{})
	kg1.Start(func(gctx context.Context) { <-gctx.Done(); close(ended) })
	if !commitGeneration(ctx, kg1, topic, map[int]int64{0: 1}, testLog(), func() {}) {
		t.Fatal("the live generation could not commit")
	}

	// A second member joins: the first one's generation ends, and it rejoins.
	cg2, err := newConsumerGroup(brokersOf(b), group, topic, tm, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cg2.Close()
	go func() {
		if kg, err := cg1.Next(ctx); err == nil {
			kg.Start(func(gctx context.Context) { <-gctx.Done() })
		}
	}()
	kg2, err := cg2.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	<-ended
	if kg2.ID <= kg1.ID {
		t.Fatalf("second generation %d not after the first %d", kg2.ID, kg1.ID)
	}
	// kafka-go refuses to send it (the generation's connection is closed) ...
	if err := kg1.CommitOffsets(map[string]map[int]int64{topic: {0: 5}}); err == nil {
		t.Error("an ended generation committed")
	}
	// ... and the broker refuses the old generation's id, should a commit be on its way already.
	client := &kafka.Client{Addr: kafka.TCP(b.Addr())}
	cr, err := client.OffsetCommit(ctx, &kafka.OffsetCommitRequest{
		GroupID: group, GenerationID: int(kg1.ID), MemberID: kg1.MemberID,
		Topics: map[string][]kafka.OffsetCommit{topic: {{Partition: 0, Offset: 6}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if perr := cr.Topics[topic][0].Error; !generationOver(perr) {
		t.Errorf("broker answered a commit with the ended generation's id with %v, want a generation error", perr)
	}
	// commitGeneration gives up at once on an ended generation's context.
	gone, cancel := context.WithCancel(ctx)
	cancel()
	if commitGeneration(gone, kg1, topic, map[int]int64{0: 7}, testLog(), func() {}) {
		t.Error("commitGeneration committed for an ended generation")
	}
	resp, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: {0}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Topics[topic][0].CommittedOffset; got != 1 {
		t.Errorf("committed offset %d, want 1 (the live generation's commit only)", got)
	}
}
