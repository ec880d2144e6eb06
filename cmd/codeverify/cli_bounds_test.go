package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codeverify/codeverify/internal/testkit"
	"github.com/codeverify/codeverify/sinks/clickhouse/chtest"
	"github.com/codeverify/codeverify/streams"
	"github.com/codeverify/codeverify/streams/kafkatest"
)

// The CLI's promises about bad input and unreachable dependencies, checked on the built binary:
// it exits non-zero within a bounded time with one line on stderr, and never panics or hangs.

var (
	cliOnce sync.Once
	cliPath string
	cliErr  error
)

// cliBinary builds codeverify once per test run.
func cliBinary(t *testing.T) string {
	t.Helper()
	cliOnce.Do(func() {
		dir, err := os.MkdirTemp("", "codeverify-cli")
		if err != nil {
			cliErr = err
			return
		}
		cliPath = filepath.Join(dir, "codeverify")
		out, err := exec.Command("go", "build", "-o", cliPath, ".").CombinedOutput()
		if err != nil {
			cliErr = errors.New(string(out))
		}
	})
	if cliErr != nil {
		t.Fatalf("build: %v", cliErr)
	}
	return cliPath
}

type cliResult struct {
	stdout, stderr string
	code           int
	took           time.Duration
}

// runBinary runs the built CLI with args, killing it after limit.
func runBinary(t *testing.T, limit time.Duration, env []string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, cliBinary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = t.TempDir() // outside the checkout: no default may depend on the working directory
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := cliResult{stdout: out.String(), stderr: errb.String(), took: time.Since(start)}
	if ctx.Err() != nil {
		t.Fatalf("codeverify %s: still running after %v (stderr %q)", strings.Join(args, " "), limit, r.stderr)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

// wantOneLineError checks a failed run: non-zero exit, no panic, one line on stderr containing
// every one of want.
func wantOneLineError(t *testing.T, r cliResult, want ...string) {
	t.Helper()
	if r.code == 0 {
		t.Errorf("exit 0, want an error (stdout %q)", r.stdout)
	}
	if strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine ") {
		t.Errorf("panicked: %s", r.stderr)
	}
	if lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n"); len(lines) != 1 {
		t.Errorf("want one line on stderr, got %d:\n%s", len(lines), r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr %q lacks %q", r.stderr, w)
		}
	}
}

func TestOneShotCommandsGiveUpOnUnreachableBrokers(t *testing.T) {
	problems := filepath.Join(testkit.DataDir(t), "mbpp", "mbpp.jsonl")
	dead := testkit.FreeAddr(t)
	// A listener that accepts and never answers: only the connect timeout ends the wait.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	brokers := "--brokers=" + dead + "," + silent.Addr().String()
	for _, args := range [][]string{
		{"topics"},
		{"produce", "--problems", problems},
		{"synthesize", "--problems", problems},
		{"produce-prompts", "--problems", problems},
	} {
		t.Run(args[0], func(t *testing.T) {
			r := runBinary(t, 15*time.Second, nil, append(args, brokers, "--connect-timeout=2s")...)
			wantOneLineError(t, r, dead, silent.Addr().String(), "no Kafka broker reachable")
			if r.took > 10*time.Second {
				t.Errorf("took %v with --connect-timeout=2s", r.took)
			}
		})
	}
}

func TestTopicsTriesEveryBootstrapAddress(t *testing.T) {
	b, _ := kafkatest.Start(t)
	r := runBinary(t, 15*time.Second, nil, "topics", "--brokers="+testkit.FreeAddr(t)+","+b.Addr(), "--connect-timeout=5s")
	if r.code != 0 || !strings.Contains(r.stdout, streams.TopicCandidates) {
		t.Fatalf("dead,alive: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// TestReadOnlyCommandsCreateNoDatabase: a mistyped --clickhouse-db in a command that only reads is
// an error naming the database, and leaves ClickHouse as it was.
func TestReadOnlyCommandsCreateNoDatabase(t *testing.T) {
	db := chtest.Config(t).Database // named, never created; dropped at the end should a command create it
	for _, args := range [][]string{
		{"report"},
		{"eval", "--pool", "a,b"},
	} {
		t.Run(args[0], func(t *testing.T) {
			r := runBinary(t, 15*time.Second, nil, append(args, "--clickhouse-db="+db)...)
			wantOneLineError(t, r, "database "+db+" does not exist")
			out, err := exec.Command("clickhouse-client", "--query", "SELECT count() FROM system.databases WHERE name = '"+db+"'").Output()
			if err != nil {
				t.Skipf("clickhouse-client: %v", err)
			}
			if strings.TrimSpace(string(out)) != "0" {
				t.Fatalf("%s created database %s", args[0], db)
			}
		})
	}
}

// TestMissingDirectoriesAreErrors: outside a checkout, with no flag, env or config naming them, the
// model registry and the data directory do not exist; commands that read them say so, naming the
// flag, instead of printing an empty result.
func TestMissingDirectoriesAreErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nowhere")
	for _, c := range []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{"models", "list"}, []string{"CODEVERIFY_VAR_DIR=" + missing}, "--models-dir"},
		{[]string{"models", "list", "--models-dir", missing}, nil, "--models-dir"},
		{[]string{"bench", "executor", "--n", "1"}, []string{"CODEVERIFY_DATA_DIR=" + missing}, "--data-dir"},
		{[]string{"demo"}, []string{"CODEVERIFY_DATA_DIR=" + missing}, "--data-dir"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			r := runBinary(t, 15*time.Second, append([]string{"CODEVERIFY_BROKERS=127.0.0.1:1", "CODEVERIFY_CLICKHOUSE_ADDR=127.0.0.1:1"}, c.env...), c.args...)
			wantOneLineError(t, r, c.want, missing)
		})
	}
	// With no setting at all and a working directory outside any checkout, models list is an
	// error too (the default registry is relative to a checkout that is not there).
	r := runBinary(t, 15*time.Second, []string{"CODEVERIFY_VAR_DIR="}, "models", "list")
	wantOneLineError(t, r, "--models-dir")
}
