package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/codeverify/codeverify/internal/config"
	"github.com/codeverify/codeverify/internal/testkit"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/sinks/clickhouse"
	"github.com/codeverify/codeverify/sinks/clickhouse/chtest"
	"github.com/codeverify/codeverify/streams"
)

// startSecondClickHouse starts a clickhouse-server of its own (own ports, own data directory) with
// the script developers use, and stops it when the test ends or when the returned func is called.
func startSecondClickHouse(t *testing.T, tcpPort, httpPort string) (stop func()) {
	t.Helper()
	// Not t.TempDir: its parent is private to root, and the server runs as the clickhouse user.
	dir, err := os.MkdirTemp("", "cv-clickhouse-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	cmd := exec.Command("bash", "../../deploy/clickhouse/start-local.sh", dir)
	cmd.Env = append(os.Environ(), "CLICKHOUSE_TCP_PORT="+tcpPort, "CLICKHOUSE_HTTP_PORT="+httpPort)
	out, err := cmd.CombinedOutput()
	pidBytes, _ := os.ReadFile(filepath.Join(dir, "clickhouse-server.pid"))
	stop = func() {}
	if pid, perr := strconv.Atoi(strings.TrimSpace(string(pidBytes))); perr == nil {
		var once sync.Once
		stop = func() {
			once.Do(func() {
				syscall.Kill(pid, syscall.SIGTERM)
				for i := 0; i < 100 && syscall.Kill(pid, 0) == nil; i++ {
					time.Sleep(100 * time.Millisecond)
				}
			})
		}
		t.Cleanup(stop)
	}
	if err != nil {
		t.Fatalf("second clickhouse-server: %v\n%s", err, out)
	}
	return stop
}

// The sink started while ClickHouse is down keeps trying (a warning per attempt), reports not
// ready, and once a server comes up on its address becomes ready and writes both topics.
func TestSinkWaitsForClickHouseThenWrites(t *testing.T) {
	if _, err := os.Stat("/usr/sbin/clickhouse-server"); err != nil {
		t.Skip("needs clickhouse-server to start a second server")
	}
	e := newEnv(t) // the broker, and a database name
	tcpPort, httpPort := strconv.Itoa(testkit.FreePort(t)), strconv.Itoa(testkit.FreePort(t))
	logs := &testkit.SyncBuffer{}
	a := e.app
	a.Log = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	a.Config.ClickHouse.Addr = "127.0.0.1:" + tcpPort
	a.Config.MetricsAddr = testkit.FreeAddr(t)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	v := testkit.SinkVerdict("r-wait", 0, true)
	b := schemas.Behavior{CandidateID: v.CandidateID, RequestID: v.RequestID, ProblemID: v.ProblemID, Model: v.Model,
		ExecutedAtMs: v.ExecutedAtMs, Results: []schemas.GeneratedTestResult{{TestID: "t1", Frequency: 2, Status: schemas.TestPass}}}
	vp := streams.NewProducer(a.Cluster(), streams.TopicVerdicts, e.codecs.Verdict, func(v schemas.Verdict) string { return v.CandidateID })
	defer vp.Close()
	bp := streams.NewProducer(a.Cluster(), streams.TopicBehaviors, e.codecs.Behavior, schemas.BehaviorKey)
	defer bp.Close()
	if err := vp.Publish(ctx, v); err != nil {
		t.Fatal(err)
	}
	if err := bp.Publish(ctx, b); err != nil {
		t.Fatal(err)
	}

	runCtx, stop := context.WithCancel(ctx)
	var runErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		cmd := a.sinkCmd()
		cmd.SetArgs([]string{})
		runErr = cmd.ExecuteContext(runCtx)
	}()
	t.Cleanup(func() {
		stop()
		<-done
	})
	readyz := func() int {
		resp, err := http.Get("http://" + a.Config.MetricsAddr + "/readyz")
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	waitFor := func(what string, timeout time.Duration, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(timeout); !ok(); time.Sleep(100 * time.Millisecond) {
			select {
			case <-done:
				t.Fatalf("sink exited while waiting for %s: %v\n%s", what, runErr, logs.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; log:\n%s", what, logs.String())
			}
		}
	}
	waitFor("three failed attempts", 20*time.Second, func() bool {
		return strings.Count(logs.String(), "clickhouse not reachable") >= 3
	})
	if code := readyz(); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with ClickHouse down: %d, want 503", code)
	}
	if !strings.Contains(logs.String(), `"level":"WARN"`) {
		t.Fatalf("attempts not logged at WARN:\n%s", logs.String())
	}

	stopClickHouse := startSecondClickHouse(t, tcpPort, httpPort)
	waitFor("/readyz 200", 60*time.Second, func() bool { return readyz() == http.StatusOK })
	check, err := clickhouse.Open(ctx, clickhouse.Config{Addr: a.Config.ClickHouse.Addr, Database: a.Config.ClickHouse.Database})
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close()
	waitFor("the verdict and the behaviour in ClickHouse", 30*time.Second, func() bool {
		nv, _, err1 := check.VerdictCount(ctx)
		nb, _, err2 := check.BehaviorCount(ctx)
		return err1 == nil && err2 == nil && nv == 1 && nb == 1
	})
	metrics := testkit.Get(t, a.Config.MetricsAddr, "/metrics")
	for _, want := range []string{
		`codeverify_clickhouse_insert_seconds_count{table="verdicts"} 1`,
		`codeverify_clickhouse_insert_seconds_count{table="behaviors"} 1`,
		`codeverify_consumer_lag{group="` + streams.GroupSinkVerdicts + `",partition="0",topic="` + streams.TopicVerdicts + `"}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(metrics, "codeverify_clickhouse_insert_errors_total") {
		t.Errorf("insert errors counted though every insert succeeded")
	}

	// ClickHouse going away while the sink runs makes it not ready again, and /readyz says why.
	stopClickHouse()
	waitFor("/readyz 503 after ClickHouse stopped", 30*time.Second, func() bool { return readyz() == http.StatusServiceUnavailable })
	if body := testkit.Get(t, a.Config.MetricsAddr, "/readyz"); !strings.Contains(body, "clickhouse: FAIL") || !strings.Contains(body, "kafka: ok") {
		t.Errorf("/readyz body does not name the failing check:\n%s", body)
	}
	stop()
	<-done
	if runErr != nil {
		t.Fatalf("sink stopped with %v", runErr)
	}
}

// Waiting only helps when the server is unreachable: a server that refuses the sink (here: a wrong
// password) ends the wait with its error, and shutdown ends it quietly.
func TestOpenClickHouseWhenUpStopsOnServerErrorsAndShutdown(t *testing.T) {
	ch := chtest.Config(t)
	a := &app{Env: &config.Env{Config: config.Default(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	a.Config.ClickHouse.Addr, a.Config.ClickHouse.Database = ch.Addr, ch.Database
	a.Config.ClickHouse.Password = "not-the-password"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if s, err := a.OpenClickHouseWhenUp(ctx, time.Millisecond, time.Millisecond); err == nil || !clickhouse.IsServerError(err) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("wrong password: sink %v, err %v; want the server's error", s, err)
	}
	a.Config.ClickHouse.Password = ""
	a.Config.ClickHouse.Addr = testkit.FreeAddr(t) // nothing listens
	short, stop := context.WithTimeout(ctx, 300*time.Millisecond)
	defer stop()
	if s, err := a.OpenClickHouseWhenUp(short, 10*time.Millisecond, 50*time.Millisecond); s != nil || err != nil {
		t.Fatalf("cancelled while waiting: sink %v, err %v; want nil, nil", s, err)
	}
}
