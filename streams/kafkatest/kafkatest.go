// Package kafkatest starts the embedded Kafka-protocol broker for a test: a real broker over TCP on a
// free port, its data in the test's temporary directory, closed when the test ends.
package kafkatest

import (
	"io"
	"log/slog"
	"testing"

	"github.com/codeverify/codeverify/streams"
)

// Start starts a broker and returns it with the cluster that reaches it; opts are passed to
// streams.StartBroker (TLS, users).
func Start(t testing.TB, opts ...streams.BrokerOption) (*streams.Broker, streams.Cluster) {
	t.Helper()
	b, err := streams.StartBroker(t.TempDir(), 0, slog.New(slog.NewTextHandler(io.Discard, nil)), opts...)
	if err != nil {
		t.Fatalf("embedded broker: %v", err)
	}
	t.Cleanup(b.Close)
	return b, streams.Cluster{Brokers: []string{b.Addr()}}
}
