package campaign

import (
	"maps"
	"slices"
	"testing"

	"github.com/codeverify/codeverify/streams"
	"github.com/codeverify/codeverify/streams/kafkatest"
)

// TestReadsTheDeclaredTopics: a campaign (and its status) reads back exactly the inputs its stage
// declares in the topology, each with its own reader and no consumer group, so what
// `codeverify topology` prints is what runs.
func TestReadsTheDeclaredTopics(t *testing.T) {
	stage, ok := streams.DefaultTopology().Stage(streams.StageCampaign)
	if !ok {
		t.Fatalf("no stage %s declared", streams.StageCampaign)
	}
	if gs := stage.Groups(); len(gs) != 0 {
		t.Errorf("the campaign commits nothing, but its stage declares consumer groups %v", gs)
	}
	_, cluster := kafkatest.Start(t)
	ctx := t.Context()
	if err := streams.EnsureTopics(ctx, cluster, streams.DefaultCatalog()); err != nil {
		t.Fatal(err)
	}
	src, err := connect(ctx, Env{Cluster: cluster}, "declared")
	if err != nil {
		t.Fatal(err)
	}
	if err := src.refresh(ctx); err != nil {
		t.Fatal(err)
	}
	var declared []string
	for _, in := range stage.Inputs {
		declared = append(declared, in.Topic)
	}
	slices.Sort(declared)
	if read := slices.Sorted(maps.Keys(src.next)); !slices.Equal(read, declared) {
		t.Errorf("the campaign reads %v; its stage declares %v", read, declared)
	}
}
