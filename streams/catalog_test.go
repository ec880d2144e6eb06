package streams

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

func TestCatalogValidate(t *testing.T) {
	if err := DefaultCatalog().Validate(); err != nil {
		t.Fatalf("default catalog: %v", err)
	}
	for name, c := range map[string]Catalog{
		"duplicate":       {{Name: "a", Partitions: 1}, {Name: "a", Partitions: 1}},
		"no partitions":   {{Name: "a"}},
		"empty name":      {{Partitions: 1}},
		"negative retain": {{Name: "a", Partitions: 1, Retention: -time.Second}},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%s: Validate accepted %+v", name, c)
		}
	}
}

func TestEnsureTopicsIdempotent(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ctx := testCtx(t, 20*time.Second)
	cat := DefaultCatalog()
	for i := range 2 {
		if err := EnsureTopics(ctx, brokersOf(b), cat); err != nil {
			t.Fatalf("EnsureTopics #%d: %v", i+1, err)
		}
	}

	conn, err := kafka.DialContext(ctx, "tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	parts, err := conn.ReadPartitions()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, p := range parts {
		got[p.Topic]++
	}
	for _, tp := range cat {
		if got[tp.Name] != tp.Partitions {
			t.Errorf("%s: %d partitions, want %d", tp.Name, got[tp.Name], tp.Partitions)
		}
	}

	cfgs := describeTopicConfig(t, ctx, b, TopicProblems, TopicVerdicts, TopicPrompts)
	want := map[string]string{
		TopicProblems + " cleanup.policy": "compact",
		TopicVerdicts + " retention.ms":   "-1",
		TopicPrompts + " retention.ms":    fmt.Sprint((7 * 24 * time.Hour).Milliseconds()),
	}
	for k, v := range want {
		if cfgs[k] != v {
			t.Errorf("%s = %q, want %q", k, cfgs[k], v)
		}
	}

	// A topic that exists with another partition count contradicts the declaration.
	bad := Catalog{{Name: TopicCandidates, Partitions: 3}}
	if err := EnsureTopics(ctx, brokersOf(b), bad); !errors.Is(err, errTopicMismatch) {
		t.Errorf("partition mismatch: got %v, want errTopicMismatch", err)
	}
}

func describeTopicConfig(t *testing.T, ctx context.Context, b *Broker, topics ...string) map[string]string {
	t.Helper()
	var res []kafka.DescribeConfigRequestResource
	for _, tp := range topics {
		res = append(res, kafka.DescribeConfigRequestResource{ResourceType: kafka.ResourceTypeTopic, ResourceName: tp})
	}
	cl := &kafka.Client{Addr: kafka.TCP(b.Addr()), Transport: &kafka.Transport{}}
	resp, err := cl.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{Resources: res})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range resp.Resources {
		for _, e := range r.ConfigEntries {
			out[r.ResourceName+" "+e.ConfigName] = e.ConfigValue
		}
	}
	return out
}
