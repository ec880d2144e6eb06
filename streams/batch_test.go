package streams

import (
	"context"
	"errors"
	"sync"
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
		Brokers: brokersOf(b), Group: group, Topic: topic, Codec: codec,
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
	if len(dls) != 1 || dls[0].Stage != StageDecode || dls[0].SourceTopic != topic {
		t.Errorf("dead letters %+v, want one decode failure from %s", dls, topic)
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
