package streams

import (
	"sync"
	"testing"
	"time"

	"github.com/codeverify/codeverify/schemas"
	"github.com/segmentio/kafka-go"
)

// GroupLag counts everything as lag before the group commits and nothing once it has consumed it
// all; the runner reports each dead letter's stage.
func TestGroupLagAndDeadLetterStages(t *testing.T) {
	b := startBroker(t)
	ctx := testCtx(t, 60*time.Second)
	in, out := pipelineTopics(t, b, 2)
	group := uniqueName(t, "group")
	for i := range 10 {
		publishCandidates(t, b, in, candidate(i))
	}
	publishRaw(t, b, in, kafka.Message{Key: []byte("k"), Value: []byte("not avro")})
	total := func(ls []PartitionLag) (n int64) {
		for _, l := range ls {
			n += l.Lag
		}
		return n
	}
	lags, err := GroupLag(ctx, brokersOf(b), group, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(lags) != 2 || total(lags) != 11 || lags[0].Committed != -1 {
		t.Fatalf("lag before the group consumed: %+v, want 2 partitions, 11 behind, nothing committed", lags)
	}
	cfg := verdictRunnerConfig(t, b, group, in, out)
	var mu sync.Mutex
	stages := map[string]int{}
	cfg.OnDeadLettered = func(stage string, n int) {
		mu.Lock()
		defer mu.Unlock()
		stages[stage] += n
	}
	r, err := NewRunner(cfg, ProcessorFunc[schemas.Candidate, schemas.Verdict](toVerdict))
	if err != nil {
		t.Fatal(err)
	}
	stop := startRunner(t, r)
	waitFor(t, 30*time.Second, "lag 0", func() bool {
		lags, err := GroupLag(ctx, brokersOf(b), group, in)
		return err == nil && total(lags) == 0
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if stages[StageDecode] != 1 || len(stages) != 1 {
		t.Errorf("dead letters by stage: %v, want decode: 1", stages)
	}
}
