package clickhouse

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codeverify/codeverify/schemas"
)

// The tests run against a real server. If none answers, the helper starts one with the same
// script developers use, under the repository's var/clickhouse, and leaves it running for the
// next run (start-local.sh is idempotent).
var (
	serverOnce sync.Once
	serverErr  error
)

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func serverAddr() string { return "127.0.0.1:" + envOr("CLICKHOUSE_TCP_PORT", "9000") }

func ensureServer() error {
	serverOnce.Do(func() {
		if c, err := net.DialTimeout("tcp", serverAddr(), time.Second); err == nil {
			c.Close()
			return
		}
		root, err := filepath.Abs("../..")
		if err != nil {
			serverErr = err
			return
		}
		cmd := exec.Command(filepath.Join(root, "deploy/clickhouse/start-local.sh"), filepath.Join(root, "var/clickhouse"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			serverErr = fmt.Errorf("start-local.sh: %v\n%s", err, out)
		}
	})
	return serverErr
}

// testSink opens a sink on a fresh database (see testConfig); the sink is closed before the
// database is dropped.
func testSink(t testing.TB) *Sink {
	t.Helper()
	if err := ensureServer(); err != nil {
		if os.Getenv("CODEVERIFY_REQUIRE_CLICKHOUSE") == "1" {
			t.Fatalf("no ClickHouse server: %v", err)
		}
		t.Skipf("no ClickHouse server (set CODEVERIFY_REQUIRE_CLICKHOUSE=1 to fail instead): %v", err)
	}
	s, err := Open(context.Background(), testConfig(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// testDatabases numbers the databases of one test binary, so that no two tests share one.
var testDatabases atomic.Int64

// testConfig names a fresh database (created by the first Open) and drops it when the test ends.
// chtest does the same for other packages; it imports this one, so these tests cannot use it.
func testConfig(t testing.TB) Config {
	t.Helper()
	cfg := Config{
		Addr:     serverAddr(),
		Database: fmt.Sprintf("cvtest_%d_%d_%d", os.Getpid(), time.Now().UnixNano(), testDatabases.Add(1)),
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := DropDatabase(ctx, cfg); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	return cfg
}

// verdict builds a realistic verdict: a 64-hex code hash and three test outcomes.
func verdict(benchmark, split, model, problem string, sample int, pass bool) schemas.Verdict {
	req := fmt.Sprintf("%s/%s/%s/%s", benchmark, split, model, problem)
	code := sha256.Sum256([]byte(fmt.Sprintf("%s#%d", req, sample)))
	v := schemas.Verdict{
		CandidateID:     schemas.CandidateID(req, sample),
		RequestID:       req,
		ProblemID:       problem,
		Benchmark:       benchmark,
		Split:           split,
		Model:           model,
		SampleIndex:     int32(sample),
		Label:           schemas.Pass,
		FailureKind:     schemas.KindNone,
		RuntimeMs:       12.5,
		ExecutorVersion: "executor-v1",
		TestSuiteHash:   "5f2c0e1b9a7d4c3e8f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e",
		CodeSHA256:      hex.EncodeToString(code[:]),
		ExecutedAtMs:    1_764_000_000_000 + int64(sample),
		Tests: []schemas.TestOutcome{
			{Index: 0, Passed: true, Kind: schemas.KindNone},
			{Index: 1, Passed: true, Kind: schemas.KindNone},
			{Index: 2, Passed: true, Kind: schemas.KindNone},
		},
	}
	if !pass {
		v.Label = schemas.Fail
		v.FailureKind = schemas.KindAssertion
		v.Detail = "AssertionError: assert f(3) == 6"
		v.Tests[2] = schemas.TestOutcome{Index: 2, Passed: false, Kind: schemas.KindAssertion, Message: "assert f(3) == 6"}
	}
	return v
}

// problemVerdicts gives one problem n verdicts of which the first c pass.
func problemVerdicts(benchmark, split, model, problem string, n, c int) []schemas.Verdict {
	vs := make([]schemas.Verdict, n)
	for i := range vs {
		vs[i] = verdict(benchmark, split, model, problem, i, i < c)
	}
	return vs
}
