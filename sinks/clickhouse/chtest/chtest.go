// Package chtest gives a test its own database on the local ClickHouse server, dropped when the test
// ends. The server is the one `make clickhouse` starts (127.0.0.1:$CLICKHOUSE_TCP_PORT, default 9000);
// without it a test is skipped, or fails when CODEVERIFY_REQUIRE_CLICKHOUSE=1 (as `make test` sets).
package chtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codeverify/codeverify/sinks/clickhouse"
)

var seq atomic.Int64 // distinct names for the databases of one test binary

// Addr is the local server's native-protocol address.
func Addr() string {
	port := os.Getenv("CLICKHOUSE_TCP_PORT")
	if port == "" {
		port = "9000"
	}
	return "127.0.0.1:" + port
}

// requireAt skips the test (or fails it under CODEVERIFY_REQUIRE_CLICKHOUSE=1) when no server
// answers at addr.
func requireAt(t testing.TB, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		if os.Getenv("CODEVERIFY_REQUIRE_CLICKHOUSE") == "1" {
			t.Fatalf("no ClickHouse server at %s: %v", addr, err)
		}
		t.Skipf("no ClickHouse server at %s (set CODEVERIFY_REQUIRE_CLICKHOUSE=1 to fail instead): %v", addr, err)
	}
	c.Close()
}

// Config names a fresh database on the local server (created by the first clickhouse.Open) and drops
// it when the test ends.
func Config(t testing.TB) clickhouse.Config {
	t.Helper()
	return ConfigAt(t, Addr())
}

// ConfigAt is Config on the server at addr, such as one a test starts for itself; that server must
// still answer when the test's cleanup drops the database.
func ConfigAt(t testing.TB, addr string) clickhouse.Config {
	t.Helper()
	requireAt(t, addr)
	cfg := clickhouse.Config{Addr: addr, Database: fmt.Sprintf("cvtest_%d_%d_%d", os.Getpid(), time.Now().UnixNano(), seq.Add(1))}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := clickhouse.DropDatabase(ctx, cfg); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	return cfg
}

// Open opens a sink on a fresh, migrated database (see Config); the sink is closed before the
// database is dropped.
func Open(t testing.TB) (*clickhouse.Sink, clickhouse.Config) {
	t.Helper()
	cfg := Config(t)
	s, err := clickhouse.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open ClickHouse test database: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, cfg
}
