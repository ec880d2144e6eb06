package streams

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// deadAddr is a local address nobody listens on (a listener opened and closed).
func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestReachableTriesEveryAddress(t *testing.T) {
	b := startBroker(t)
	dead := deadAddr(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := Reachable(ctx, Cluster{Brokers: []string{dead, b.Addr()}}); err != nil {
		t.Fatalf("dead,alive: %v", err)
	}
	err := Reachable(ctx, Cluster{Brokers: []string{dead, "no-such-host.invalid:9092"}})
	if err == nil {
		t.Fatal("two dead addresses: no error")
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, dead) || !strings.Contains(msg, "no-such-host.invalid:9092") {
		t.Fatalf("want one line naming both addresses, got %q", msg)
	}
}

func TestReachableIsBounded(t *testing.T) {
	// A listener that never answers: the TCP connect succeeds, the Kafka handshake never does.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := Reachable(ctx, Cluster{Brokers: []string{l.Addr().String()}}); err == nil {
		t.Fatal("silent listener: no error")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %v, want about the context's 500ms", d)
	}
}

func TestEnsureTopicsSkipsDeadBootstrapAddress(t *testing.T) {
	b := startBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cat := Catalog{{Name: uniqueName(t, "t"), Partitions: 2}}
	if err := EnsureTopics(ctx, Cluster{Brokers: []string{deadAddr(t), b.Addr()}}, cat); err != nil {
		t.Fatalf("dead,alive: %v", err)
	}
}
