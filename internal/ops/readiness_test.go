package ops

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/codeverify/codeverify/streams"
	"github.com/codeverify/codeverify/streams/kafkatest"
)

// /readyz follows the broker: ready while it answers, 503 naming kafka once it is gone.
func TestReadyzFollowsBroker(t *testing.T) {
	b, cluster := kafkatest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rd := NewReadiness(CheckKafka)
	rd.WatchEvery(ctx, CheckKafka, 100*time.Millisecond, func(ctx context.Context) error { return streams.Reachable(ctx, cluster) })
	waitReady := func(want bool) string {
		t.Helper()
		var body string
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			var ok bool
			if ok, body = rd.Report(); ok == want {
				return body
			}
		}
		t.Fatalf("readiness never became %v: %s", want, body)
		return ""
	}
	waitReady(true)
	b.Close()
	if body := waitReady(false); !strings.Contains(body, "kafka: FAIL") {
		t.Fatalf("body does not name the broker check: %q", body)
	}
}

// A check set under a name the readiness was not built with is added to the report.
func TestReadinessAddsUnknownCheck(t *testing.T) {
	rd := NewReadiness("a")
	rd.Set("a", nil)
	if ok, _ := rd.Report(); !ok {
		t.Fatal("not ready with its only check passing")
	}
	rd.Set("b", context.Canceled)
	ok, body := rd.Report()
	if ok || body != "a: ok\nb: FAIL: context canceled\n" {
		t.Fatalf("report %v %q", ok, body)
	}
}
