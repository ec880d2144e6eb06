package streams

import (
	"testing"
	"time"

	"github.com/codeverify/codeverify/schemas"
)

func TestReplayRangesOffsetsAndSince(t *testing.T) {
	b := startBroker(t)
	ctx := testCtx(t, 30*time.Second)
	codecs := testCodecs(t)
	topic := uniqueName(t, "candidates")
	if err := EnsureTopics(ctx, brokersOf(b), Catalog{{Name: topic, Partitions: 3}}); err != nil {
		t.Fatal(err)
	}
	p := NewProducer(brokersOf(b), topic, codecs.Candidate, func(c schemas.Candidate) string { return c.ProblemID })
	defer p.Close()
	var first []schemas.Candidate
	for i := range 30 {
		first = append(first, candidate(i))
	}
	if err := p.Publish(ctx, first...); err != nil {
		t.Fatal(err)
	}
	if err := PublishRaw(ctx, brokersOf(b), topic, []byte("p0"), []byte("not avro")); err != nil {
		t.Fatal(err)
	}

	var got []string
	var lastRead, lastTotal int64
	ranges, bad, err := Replay(ctx, brokersOf(b), topic, codecs.Candidate, ReplayFrom{},
		func(c schemas.Candidate, _ ReplayRecord) { got = append(got, c.CandidateID) },
		func(_ string, read, total int64) { lastRead, lastTotal = read, total })
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 30 || bad != 1 {
		t.Fatalf("replayed %d events with %d bad, want 30 and 1", len(got), bad)
	}
	if lastRead != 31 || lastTotal != 31 {
		t.Errorf("progress ended at %d/%d, want 31/31", lastRead, lastTotal)
	}
	var count int64
	for i, r := range ranges {
		if r.Partition != i || r.Topic != topic {
			t.Errorf("range %d is %+v", i, r)
		}
		if r.Count > 0 && (r.First != 0 || r.Last != r.End-1 || r.Count != r.End) {
			t.Errorf("range %+v does not cover the whole partition", r)
		}
		count += r.Count
	}
	if count != 31 {
		t.Errorf("ranges count %d messages, want 31", count)
	}

	// Explicit offsets: skip the first two records of the busiest partition.
	busiest := ranges[0]
	for _, r := range ranges {
		if r.Count > busiest.Count {
			busiest = r
		}
	}
	n := 0
	ranges2, _, err := Replay(ctx, brokersOf(b), topic, codecs.Candidate, ReplayFrom{Offsets: map[int]int64{busiest.Partition: 2}},
		func(schemas.Candidate, ReplayRecord) { n++ }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := ranges2[busiest.Partition]; r.First != 2 || r.Count != busiest.Count-2 {
		t.Errorf("from offset 2: range %+v, want first 2 and %d records", r, busiest.Count-2)
	}
	if _, _, err := Replay(ctx, brokersOf(b), topic, codecs.Candidate, ReplayFrom{Offsets: map[int]int64{7: 0}}, func(schemas.Candidate, ReplayRecord) {}, nil); err == nil {
		t.Error("a start offset for a missing partition was accepted")
	}

	// Since: only what was published after the cut.
	time.Sleep(50 * time.Millisecond)
	cut := time.Now()
	time.Sleep(50 * time.Millisecond)
	if err := p.Publish(ctx, candidate(100), candidate(101)); err != nil {
		t.Fatal(err)
	}
	var late []string
	_, _, err = Replay(ctx, brokersOf(b), topic, codecs.Candidate, ReplayFrom{Since: cut},
		func(c schemas.Candidate, rec ReplayRecord) {
			late = append(late, c.CandidateID)
			if rec.Time.Before(cut) {
				t.Errorf("record at %v is older than the cut %v", rec.Time, cut)
			}
		}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(late) != 2 {
		t.Errorf("since the cut: replayed %v, want the 2 late candidates", late)
	}
}
