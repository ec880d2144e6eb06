package streams

import (
	"context"
	"testing"
	"time"

	"github.com/codeverify/codeverify/schemas"
	"github.com/segmentio/kafka-go"
)

// A table reads its topic to the end, says so, then keeps up with new records and tombstones.
func TestTableCatchesUpAndFollows(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	topic := uniqueName(t, "problems")
	if err := EnsureTopics(testCtx(t, 10*time.Second), brokersOf(b), Catalog{{Name: topic, Partitions: 2, Compacted: true}}); err != nil {
		t.Fatal(err)
	}
	codecs := testCodecs(t)
	p := NewProducer(brokersOf(b), topic, codecs.Candidate, func(c schemas.Candidate) string { return c.CandidateID })
	defer p.Close()
	cs := candidates(40)
	old := cs[0]
	old.Code = "old"
	if err := p.Publish(testCtx(t, 10*time.Second), append([]schemas.Candidate{old}, cs...)...); err != nil {
		t.Fatal(err)
	}
	publishRaw(t, b, topic, kafka.Message{Key: []byte("junk"), Value: []byte{0xff, 0xff}})

	table, err := NewTable(TableConfig[schemas.Candidate]{Cluster: brokersOf(b), Topic: topic, Codec: codecs.Candidate, Log: testLog()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- table.Run(ctx) }()
	if err := table.WaitCaughtUp(testCtx(t, 20*time.Second)); err != nil {
		t.Fatal(err)
	}
	if table.Len() != 40 || table.Bad() != 1 {
		t.Fatalf("caught up with %d keys and %d bad records, want 40 and 1", table.Len(), table.Bad())
	}
	if c, _ := table.Get(cs[0].CandidateID); c.Code != cs[0].Code {
		t.Errorf("key %s holds %q, want the newest value", cs[0].CandidateID, c.Code)
	}

	if err := p.Publish(testCtx(t, 10*time.Second), candidate(100)); err != nil {
		t.Fatal(err)
	}
	publishRaw(t, b, topic, kafka.Message{Key: []byte(cs[1].CandidateID)}) // a tombstone
	waitFor(t, 10*time.Second, "the new record and the tombstone", func() bool {
		_, added := table.Get(candidate(100).CandidateID)
		_, kept := table.Get(cs[1].CandidateID)
		return added && !kept
	})
	// Sync right after a publish sees it: no sleeping, no polling by the caller.
	for i := 200; i < 205; i++ {
		if err := p.Publish(testCtx(t, 10*time.Second), candidate(i)); err != nil {
			t.Fatal(err)
		}
		if err := table.Sync(testCtx(t, 10*time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, ok := table.Get(candidate(i).CandidateID); !ok {
			t.Fatalf("record %d published before Sync is missing after it", i)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after cancel: %v", err)
	}
}
