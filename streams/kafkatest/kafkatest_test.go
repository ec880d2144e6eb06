package kafkatest

import (
	"context"
	"testing"
	"time"

	"github.com/codeverify/codeverify/streams"
)

func TestStartServesTheKafkaProtocol(t *testing.T) {
	var c streams.Cluster
	t.Run("uses", func(t *testing.T) {
		_, c = Start(t)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := streams.Reachable(ctx, c); err != nil {
			t.Fatal(err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := streams.Reachable(ctx, c); err == nil {
		t.Fatal("broker still answers after its test ended")
	}
}
