package chaos

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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

	"github.com/codeverify/codeverify/internal/testkit"
	"github.com/codeverify/codeverify/sinks/clickhouse/chtest"
)

// The suite's sizes: the first problems of the CodeT HumanEval samples, so many samples each.
const (
	nProblems = 20
	nSamples  = 30
)

// Group timeouts given to execute and sink: a killed member's partitions move after ~2 s.
var groupFlags = []string{"--group-session-timeout", "2s", "--group-heartbeat-interval", "300ms", "--group-rebalance-timeout", "5s"}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildDir  string
)

// codeverify builds the binary once per test process.
func codeverify(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "chaos-bin-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, "codeverify")
		start := time.Now()
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/codeverify").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		fmt.Fprintf(os.Stderr, "chaos: built codeverify in %v\n", time.Since(start).Round(time.Millisecond))
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

func dataDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("CODEVERIFY_DATA_DIR"); d != "" {
		return d
	}
	d, _ := filepath.Abs("../../shared/data")
	if _, err := os.Stat(d); err != nil {
		t.Skipf("no benchmark data (set CODEVERIFY_DATA_DIR): %v", err)
	}
	return d
}

// subset writes the first nProblems CodeT sample lines (cut to nSamples samples) and their
// problems, and returns both paths.
func subset(t *testing.T, dir string) (problems, samples string) {
	t.Helper()
	src := filepath.Join(dataDir(t), "samples", "codet_humaneval_codegen16b")
	prompts := map[string]bool{}
	samples = filepath.Join(dir, "samples.jsonl")
	var out bytes.Buffer
	eachLine(t, filepath.Join(src, "HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_code_solution.dev100.jsonl"), func(b []byte) bool {
		var r struct {
			Prompt  string   `json:"prompt"`
			Samples []string `json:"samples"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		if len(r.Samples) > nSamples {
			r.Samples = r.Samples[:nSamples]
		}
		prompts[r.Prompt] = true
		line, _ := json.Marshal(r)
		out.Write(append(line, '\n'))
		return len(prompts) < nProblems
	})
	if err := os.WriteFile(samples, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	n := 0
	eachLine(t, filepath.Join(src, "HumanEval_for_code_generation.jsonl"), func(b []byte) bool {
		var r struct {
			Prompt string `json:"prompt"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		if prompts[r.Prompt] {
			out.Write(append(b, '\n'))
			n++
		}
		return true
	})
	if n != nProblems {
		t.Fatalf("found %d of the %d problems of the samples", n, nProblems)
	}
	problems = filepath.Join(dir, "problems.jsonl")
	if err := os.WriteFile(problems, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return problems, samples
}

func eachLine(t *testing.T, path string, fn func([]byte) bool) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() && fn(sc.Bytes()) {
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

// proc is one codeverify process; its output goes to a log file that a failing test prints.
type proc struct {
	t       *testing.T
	name    string
	args    []string
	logPath string
	metrics string // host:port of /metrics, /readyz

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	runs int
}

func (w *world) start(name string, args ...string) *proc {
	w.t.Helper()
	p := &proc{t: w.t, name: name, args: args, logPath: filepath.Join(w.dir, name+".log")}
	w.procs = append(w.procs, p)
	p.startProcess()
	return p
}

func (p *proc) startProcess() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	f, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	p.runs++
	fmt.Fprintf(f, "==== start #%d: %s\n", p.runs, strings.Join(p.args, " "))
	cmd := exec.Command(codeverify(p.t), p.args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), "CODEVERIFY_DATA_DIR="+dataDir(p.t))
	if err := cmd.Start(); err != nil {
		f.Close()
		p.t.Fatalf("start %s: %v", p.name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); f.Close(); close(done) }()
	p.cmd, p.done = cmd, done
}

// kill9 kills the process as a crash would, and waits for it.
func (p *proc) kill9() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

// stop ends the process gracefully (SIGTERM), killing it after 20 s.
func (p *proc) stop() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		p.t.Errorf("%s did not stop within 20s of SIGTERM; killed", p.name)
		cmd.Process.Signal(syscall.SIGKILL)
		<-done
	}
}

func (p *proc) exited() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) log() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

// tail is the end of the process's log, for failure messages.
func (p *proc) tail(n int) string {
	lines := strings.Split(strings.TrimRight(p.log(), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// world is one pipeline: a broker with its own port and data dir, a fresh ClickHouse database,
// the problems and candidates published, and the processes the test starts.
type world struct {
	t       *testing.T
	dir     string
	port    int
	brokers string
	ch      *clickHouse
	db      string
	broker  *proc
	procs   []*proc
	clean   map[string]string // the clean run's labels, to name what is missing
}

func newWorld(t *testing.T, ch *clickHouse) *world {
	t.Helper()
	// The database is dropped after the processes stopped: its cleanup is registered first.
	w := &world{t: t, dir: t.TempDir(), port: testkit.FreePort(t), ch: ch, db: chtest.ConfigAt(t, ch.addr()).Database}
	w.brokers = "127.0.0.1:" + strconv.Itoa(w.port)
	t.Cleanup(func() {
		for _, p := range slices.Backward(w.procs) {
			if !p.exited() {
				p.stop()
			}
		}
		if t.Failed() {
			for _, p := range w.procs {
				t.Logf("---- %s log (last 40 lines):\n%s", p.name, p.tail(40))
			}
		}
	})
	w.broker = w.start("broker", "broker", "--embedded-port", strconv.Itoa(w.port), "--var-dir", filepath.Join(w.dir, "var"))
	w.waitLog(w.broker, "broker ready", 30*time.Second)
	return w
}

// common are the flags every client process gets.
func (w *world) common() []string {
	return []string{"--brokers", w.brokers, "--clickhouse-addr", w.ch.addr(), "--clickhouse-db", w.db}
}

// restartBroker kills the broker with SIGKILL and starts it again on its data dir.
func (w *world) restartBroker() {
	w.broker.kill9()
	w.broker.startProcess()
	w.waitLogCount(w.broker, "broker ready", w.broker.runs, 30*time.Second)
}

func (w *world) produce(problems, samples string) {
	w.t.Helper()
	cmd := exec.Command(codeverify(w.t), append([]string{"produce", "--problems", problems, "--samples", samples, "--model", "codegen16b"}, w.common()...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		w.t.Fatalf("produce: %v\n%s", err, out)
	}
}

// executor starts one execute replica (one sandbox worker: two replicas share two cores).
func (w *world) executor(name string) *proc {
	args := append([]string{"execute", "--workers", "1", "--metrics-addr", "127.0.0.1:" + strconv.Itoa(testkit.FreePort(w.t))}, w.common()...)
	p := w.start(name, append(args, groupFlags...)...)
	p.metrics = args[4]
	return p
}

func (w *world) sink() *proc {
	args := append([]string{"sink", "--metrics-addr", "127.0.0.1:" + strconv.Itoa(testkit.FreePort(w.t))}, w.common()...)
	p := w.start("sink", append(args, groupFlags...)...)
	p.metrics = args[2]
	return p
}

func (w *world) waitLog(p *proc, needle string, timeout time.Duration) {
	w.t.Helper()
	w.waitLogCount(p, needle, 1, timeout)
}

func (w *world) waitLogCount(p *proc, needle string, n int, timeout time.Duration) {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	for strings.Count(p.log(), needle) < n {
		if time.Now().After(deadline) {
			w.t.Fatalf("%s: no %q (%d times) within %v; log tail:\n%s", p.name, needle, n, timeout, p.tail(30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ready reports whether the process's /readyz answers 200.
func (p *proc) ready() bool {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + p.metrics + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// labels reads the verdicts stored (after FINAL): candidate id → label. Errors (ClickHouse down,
// table not yet made) read as nothing stored.
func (w *world) labels() (map[string]string, error) {
	out, err := w.ch.run("SELECT candidate_id, label FROM " + w.db + ".verdicts FINAL FORMAT TabSeparated")
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if id, label, ok := strings.Cut(l, "\t"); ok {
			m[id] = label
		}
	}
	return m, nil
}

// waitLabels waits until ClickHouse holds want distinct verdicts, calling tick between polls.
func (w *world) waitLabels(want int, timeout time.Duration, tick func(stored int)) map[string]string {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	last := 0
	for {
		m, _ := w.labels()
		if len(m) >= want {
			return m
		}
		last = max(last, len(m))
		if time.Now().After(deadline) {
			var missing []string
			for id := range w.clean {
				if _, ok := m[id]; !ok {
					missing = append(missing, id)
				}
			}
			slices.Sort(missing)
			w.t.Fatalf("ClickHouse holds %d of %d verdicts after %v; %d of the clean run's candidates missing, e.g. %s",
				last, want, timeout, len(missing), strings.Join(missing[:min(len(missing), 20)], ", "))
		}
		if tick != nil {
			tick(len(m))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// sameLabels reports, candidate by candidate, how got differs from the clean run's labels.
func sameLabels(t *testing.T, clean, got map[string]string) {
	t.Helper()
	var diffs []string
	for id, want := range clean {
		switch g, ok := got[id]; {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("%s: missing (clean run: %s)", id, want))
		case g != want:
			diffs = append(diffs, fmt.Sprintf("%s: %s, clean run %s", id, g, want))
		}
	}
	for id, g := range got {
		if _, ok := clean[id]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: %s, not in the clean run", id, g))
		}
	}
	if len(diffs) > 0 {
		slices.Sort(diffs)
		t.Errorf("%d of %d verdicts differ from the clean run:\n  %s", len(diffs), len(clean), strings.Join(diffs[:min(len(diffs), 40)], "\n  "))
	}
}

// clickHouse is a server reached with clickhouse-client on its native port.
type clickHouse struct {
	port int
	dir  string // the second server's own directory; "" for the shared local server
}

func (c *clickHouse) addr() string { return "127.0.0.1:" + strconv.Itoa(c.port) }

func (c *clickHouse) run(q string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "clickhouse-client", "--port", strconv.Itoa(c.port), "--query", q)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("clickhouse-client %q: %v: %s", q, err, stderr.String())
	}
	return string(out), nil
}

func requireClickHouseServer(t *testing.T) {
	t.Helper()
	for _, bin := range []string{"/usr/sbin/clickhouse-server", "clickhouse-client"} {
		if _, err := exec.LookPath(bin); err != nil {
			if os.Getenv("CODEVERIFY_REQUIRE_CLICKHOUSE") != "" {
				t.Fatalf("%s missing and CODEVERIFY_REQUIRE_CLICKHOUSE is set: %v", bin, err)
			}
			t.Skipf("chaos suite needs ClickHouse: %s missing (install clickhouse-server and clickhouse-client, or run make clickhouse)", bin)
		}
	}
}

// localClickHouse is the developer server `make clickhouse` starts (port 9000), started here if
// it is not running.
func localClickHouse(t *testing.T) *clickHouse {
	t.Helper()
	requireClickHouseServer(t)
	out, err := exec.Command("bash", "../deploy/clickhouse/start-local.sh", "../var/clickhouse").CombinedOutput()
	if err != nil {
		t.Fatalf("local clickhouse: %v\n%s", err, out)
	}
	return &clickHouse{port: 9000}
}

// secondClickHouse starts a clickhouse-server of the test's own (free ports, own data dir) with the
// developers' script, and stops it when the test ends.
func secondClickHouse(t *testing.T) *clickHouse {
	t.Helper()
	requireClickHouseServer(t)
	// Not t.TempDir: its parent is private to root, and the server runs as the clickhouse user.
	dir, err := os.MkdirTemp("", "chaos-clickhouse-")
	if err != nil {
		t.Fatal(err)
	}
	c := &clickHouse{port: testkit.FreePort(t), dir: dir}
	httpPort := testkit.FreePort(t)
	t.Setenv("CHAOS_CH_HTTP_PORT", strconv.Itoa(httpPort))
	t.Cleanup(func() {
		c.stop(t)
		os.RemoveAll(dir)
	})
	c.start(t, httpPort)
	return c
}

func (c *clickHouse) start(t *testing.T, httpPort int) {
	t.Helper()
	cmd := exec.Command("bash", "../deploy/clickhouse/start-local.sh", c.dir)
	cmd.Env = append(os.Environ(), "CLICKHOUSE_TCP_PORT="+strconv.Itoa(c.port), "CLICKHOUSE_HTTP_PORT="+strconv.Itoa(httpPort))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("second clickhouse-server: %v\n%s", err, out)
	}
}

// stop stops the second server (SIGTERM, then SIGKILL after 10 s) and waits for it to exit.
func (c *clickHouse) stop(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(c.dir, "clickhouse-server.pid"))
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return
	}
	syscall.Kill(pid, syscall.SIGTERM)
	for i := 0; syscall.Kill(pid, 0) == nil; i++ {
		if i == 100 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
