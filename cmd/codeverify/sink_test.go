package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/codeverify/codeverify/internal/config"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/sinks/clickhouse"
	"github.com/codeverify/codeverify/streams"
)

// sinkVerdict builds a valid verdict of request req.
func sinkVerdict(req string, sample int, pass bool) schemas.Verdict {
	v := schemas.Verdict{
		CandidateID: schemas.CandidateID(req, sample), RequestID: req, ProblemID: "p1",
		Benchmark: "mbpp", Split: "test", Model: "sink-model", SampleIndex: int32(sample),
		Label: schemas.Pass, FailureKind: schemas.KindNone, ExecutorVersion: "executor-v1",
		ExecutedAtMs: 1_764_000_000_000 + int64(sample),
	}
	if !pass {
		v.Label, v.FailureKind = schemas.Fail, schemas.KindAssertion
	}
	return v
}

// A batch holding invalid verdicts among good ones: the good ones are written, each invalid one is
// dead-lettered with the reason it was refused, and the batch is not retried for ever.
func TestSinkDeadLettersInvalidVerdictsAndWritesTheRest(t *testing.T) {
	e := newEnv(t)
	logs := &syncBuffer{}
	e.app.Log = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	good := []schemas.Verdict{sinkVerdict("r1", 0, true), sinkVerdict("r1", 1, false), sinkVerdict("r1", 2, true)}
	noID := sinkVerdict("r1", 3, true)
	noID.CandidateID = ""
	// The label is an Avro enum, so no bad label gets this far; a negative version column does.
	badTime := sinkVerdict("r1", 4, false)
	badTime.ExecutedAtMs = -1
	batch := []schemas.Verdict{good[0], noID, good[1], badTime, good[2]}
	p := streams.NewProducer(e.app.Cluster(), streams.TopicVerdicts, e.codecs.Verdict, func(v schemas.Verdict) string { return "k" })
	defer p.Close()
	// One key: the five share a partition, so they arrive in one batch.
	if err := p.Publish(ctx, batch...); err != nil {
		t.Fatal(err)
	}
	e.startSink(t, ctx)

	if rows, distinct := waitVerdicts(t, e, 3, 30*time.Second); rows != 3 || distinct != 3 {
		t.Fatalf("verdicts in ClickHouse: %d rows, %d distinct; want the 3 valid ones", rows, distinct)
	}
	var dead []streams.DeadLetter
	for deadline := time.Now().Add(10 * time.Second); len(dead) < 2 && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		var err error
		if dead, err = streams.ReadDeadLetters(ctx, e.app.Cluster(), streams.DLQTopic(streams.TopicVerdicts)); err != nil {
			t.Fatal(err)
		}
	}
	if len(dead) != 2 {
		t.Fatalf("%d dead letters in %s, want 2", len(dead), streams.DLQTopic(streams.TopicVerdicts))
	}
	var got []string
	for _, d := range dead {
		v, err := e.codecs.Verdict.Decode(d.Value)
		if err != nil {
			t.Fatalf("dead letter does not decode: %v", err)
		}
		got = append(got, fmt.Sprintf("%d %s", v.SampleIndex, v.Label))
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"3 PASS", "4 FAIL"}) {
		t.Fatalf("dead letters %v, want samples 3 and 4", got)
	}
	// The reason of each is logged with the dead letter's key (the streams batch consumer offers no
	// way yet to put it in the dlq.reason header).
	for _, want := range []string{"empty candidate_id", "negative executed_at_ms -1"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no dead-letter log line with reason %q in:\n%s", want, logs.String())
		}
	}
	if strings.Contains(logs.String(), "batch write failed") {
		t.Errorf("the batch was retried:\n%s", logs.String())
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

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
	tcpPort, httpPort := freePort(t), freePort(t)
	logs := &syncBuffer{}
	a := e.app
	a.Log = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	a.Config.ClickHouse.Addr = "127.0.0.1:" + tcpPort
	a.Config.MetricsAddr = "127.0.0.1:" + freePort(t)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	v := sinkVerdict("r-wait", 0, true)
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
	metrics := scrape(t, a.Config.MetricsAddr)
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
	if body := get(t, a.Config.MetricsAddr, "/readyz"); !strings.Contains(body, "clickhouse: FAIL") || !strings.Contains(body, "kafka: ok") {
		t.Errorf("/readyz body does not name the failing check:\n%s", body)
	}
	stop()
	<-done
	if runErr != nil {
		t.Fatalf("sink stopped with %v", runErr)
	}
}

// get returns the body of http://addr/path.
func get(t *testing.T, addr, path string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// scrape returns what a service's /metrics says.
func scrape(t *testing.T, addr string) string { t.Helper(); return get(t, addr, "/metrics") }

// Waiting only helps when the server is unreachable: a server that refuses the sink (here: a wrong
// password) ends the wait with its error, and shutdown ends it quietly.
func TestOpenClickHouseWhenUpStopsOnServerErrorsAndShutdown(t *testing.T) {
	db := requireClickHouse(t)
	a := &app{Env: &config.Env{Config: config.Default(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	a.Config.ClickHouse.Database = db
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
	a.Config.ClickHouse.Addr = "127.0.0.1:" + freePort(t) // nothing listens
	short, stop := context.WithTimeout(ctx, 300*time.Millisecond)
	defer stop()
	if s, err := a.OpenClickHouseWhenUp(short, 10*time.Millisecond, 50*time.Millisecond); s != nil || err != nil {
		t.Fatalf("cancelled while waiting: sink %v, err %v; want nil, nil", s, err)
	}
}

// syncBuffer is a log sink the test can read while a stage writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
