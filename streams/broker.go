package streams

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Broker is an in-process Kafka-protocol broker (kfake) listening on 127.0.0.1.
type Broker struct {
	cluster *kfake.Cluster
	addr    string
}

// StartBroker starts a single-node broker. port 0 picks a free port; dataDir "" keeps everything in
// memory, otherwise topics, records and committed group offsets survive a restart on the same dir.
func StartBroker(dataDir string, port int, log *slog.Logger) (*Broker, error) {
	if log == nil {
		log = slog.Default()
	}
	opts := []kfake.Opt{
		kfake.Ports(port), // one port = one broker, so every partition has the same leader
		kfake.AllowAutoTopicCreation(),
		// Kafka's default minimum (6s) would forbid the short session timeouts that make a killed
		// member's partitions move within a second or two in tests; members still default to 6s.
		kfake.GroupMinSessionTimeout(500 * time.Millisecond),
		kfake.WithLogger(kfakeLogger{log.With("component", "kfake")}),
	}
	if dataDir != "" {
		opts = append(opts, kfake.DataDir(dataDir))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("start broker: %w", err)
	}
	addrs := c.ListenAddrs()
	if len(addrs) != 1 {
		c.Close()
		return nil, fmt.Errorf("start broker: want 1 listen address, got %v", addrs)
	}
	log.Info("broker started", "addr", addrs[0], "data_dir", dataDir)
	return &Broker{cluster: c, addr: addrs[0]}, nil
}

// Addr is the broker's "127.0.0.1:port".
func (b *Broker) Addr() string { return b.addr }

// Close stops the broker; with a data dir it first persists its state (including committed offsets).
func (b *Broker) Close() { b.cluster.Close() }

// kfakeLogger routes kfake's logs to slog; its info level is chatty, so it becomes debug.
type kfakeLogger struct{ log *slog.Logger }

func (l kfakeLogger) Logf(level kfake.LogLevel, format string, args ...any) {
	lvl := slog.LevelDebug
	switch level {
	case kfake.LogLevelError:
		lvl = slog.LevelError
	case kfake.LogLevelWarn:
		lvl = slog.LevelWarn
	}
	ctx := context.Background()
	if l.log.Enabled(ctx, lvl) { // skip formatting the per-request chatter nobody reads
		l.log.Log(ctx, lvl, fmt.Sprintf(format, args...))
	}
}
