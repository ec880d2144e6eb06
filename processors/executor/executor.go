// Package executor labels generated Python programs PASS/FAIL against a problem's tests.
//
// Backend "simple": one fresh `python3 -I -S` process per candidate, running the embedded
// harness.py in its own temp dir, inside user/net/ipc/uts/pid namespaces when the kernel allows.
// The harness reports per-test result frames on fd 3; the label is decided here in Go from those
// frames plus how the process ended. PASS requires every test to have run and held.
//
// Python environment: CPython's standard library only (-S: no site, so no site-packages;
// -I: PYTHON* variables, the user site and the cwd are ignored). Programs importing third-party
// packages (numpy, torch…) therefore FAIL with an exception. Version() names the exact interpreter.
package executor

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"math"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/codeverify/codeverify/schemas"
)

// harnessSource is run with `python -I -S -c`; nothing is written to disk, so a candidate cannot
// tamper with the harness of another run.
//
//go:embed harness.py
var harnessSource string

// backendVersion names the harness protocol and labelling rules; bump it when harness.py or the
// label rules change, since it goes into every Verdict.
const backendVersion = "simple-1"

const (
	fileSizeLimit = 16 << 20 // RLIMIT_FSIZE: files a program may write in its temp dir
	openFileLimit = 256      // RLIMIT_NOFILE
	frameCap      = 8 << 20  // result frames larger than this are malformed, not read further
	tailBytes     = 2048     // output tail kept for failure details
	drainGrace    = 250 * time.Millisecond
	nobodyID      = 65534
)

// Errors that mean "no label was produced"; they must never become a FAIL verdict.
var (
	ErrUnknownProblem   = errors.New("executor: unknown problem")
	ErrInvalidProblem   = errors.New("executor: invalid problem")
	ErrInvalidCandidate = errors.New("executor: invalid candidate")
)

// Config configures an Executor; zero values take the defaults.
type Config struct {
	Python      string        // interpreter; default "python3" (resolved once to sys.executable)
	Timeout     time.Duration // wall timeout per candidate, default 3s; Problem.TimeoutMs > 0 overrides
	MemoryBytes int64         // RLIMIT_AS of the program, default 1 GiB
	OutputBytes int64         // cap on stdout+stderr; exceeding it kills → FAIL output_limit. Default 1 MiB
	Workers     int           // max concurrent executions, default runtime.NumCPU()
	TempDir     string        // parent of per-candidate temp dirs, default os.TempDir()
	// CacheSize bounds the in-process verdict LRU (default 100,000 entries; negative: no cache).
	CacheSize int
	// Lookup (optional) answers candidates from verdicts stored earlier (e.g. ClickHouse).
	Lookup VerdictLookup
	// Backend: "zygote" (default: fork servers in namespaces, split asserts judged in Go) or
	// "simple" (a fresh interpreter per candidate, the reference design of the first issue).
	Backend string
	// GenTestLimit is the CPU time of one generated test (Dual), default 100ms; GenTotalLimit the
	// CPU time of all of a candidate's generated tests in one job, default 500ms (the tests it
	// leaves unrun are timeouts). A candidate that loops on its tests costs up to GenTotalLimit.
	GenTestLimit  time.Duration
	GenTotalLimit time.Duration
}

// Backends.
const (
	BackendZygote = "zygote"
	BackendSimple = "simple"
)

// Result is the outcome of one execution. Err != nil means no label was produced (context
// cancelled, invalid problem, could not start the interpreter): Label is then empty.
type Result struct {
	Label   string
	Kind    string
	Detail  string
	Tests   []schemas.TestOutcome // outcomes of the tests that ran, in order
	Runtime time.Duration         // wall time of the process, interpreter start-up included
	Err     error

	phase      string                        // the program phase that failed (imports, code, setup), if one did
	gen        []schemas.GeneratedTestResult // Dual: the generated tests' results
	genRuntime time.Duration                 // Dual: wall time the generated tests took
}

// sandbox is how the process is isolated; chosen once in New by trying each in turn.
type sandbox struct {
	name       string // goes into Version()
	cloneflags uintptr
	uid, gid   int // host ids the program runs as (inside it is uid 0 of its user namespace)
}

// Executor runs candidates. It is safe for concurrent use.
type Executor struct {
	cfg       Config
	python    string // absolute path of the interpreter
	pyVersion string
	box       sandbox
	sem       chan struct{}
	pool      *zygotePool // backend zygote
	plans     sync.Map    // suite hash → plan
	timeouts  sync.Map    // problem id + suite hash → calibrated timeout
	cache     *verdictCache
	dualCache *verdictCache // Dual results, keyed with the generated tests too
	genPlans  sync.Map      // TestsHash → genPlan
	// genPlanCount bounds genPlans (cleared when it passes genPlanCacheMax).
	genPlanCount  atomic.Int64
	continuations atomic.Int64 // Dual's continuation jobs
}

// New checks that the interpreter works and picks the strongest sandbox this kernel allows.
func New(cfg Config) (*Executor, error) {
	if cfg.Python == "" {
		cfg.Python = "python3"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 3 * time.Second
	}
	if cfg.MemoryBytes <= 0 {
		cfg.MemoryBytes = 1 << 30
	}
	if cfg.OutputBytes <= 0 {
		cfg.OutputBytes = 1 << 20
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.NumCPU()
		if cfg.Backend != BackendSimple {
			cfg.Workers *= 2 // a zygote waits on its child and on Go: two per core keep the cores busy
		}
	}
	if cfg.TempDir == "" {
		cfg.TempDir = os.TempDir()
	}
	if cfg.Backend == "" {
		cfg.Backend = BackendZygote
	}
	if cfg.GenTestLimit <= 0 {
		cfg.GenTestLimit = 100 * time.Millisecond
	}
	if cfg.GenTotalLimit <= 0 {
		cfg.GenTotalLimit = 500 * time.Millisecond
	}
	if cfg.Backend != BackendZygote && cfg.Backend != BackendSimple {
		return nil, fmt.Errorf("executor: unknown backend %q (zygote or simple)", cfg.Backend)
	}
	e := &Executor{cfg: cfg, sem: make(chan struct{}, cfg.Workers)}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = 100_000
	}
	if cfg.CacheSize > 0 {
		e.cache = newVerdictCache(cfg.CacheSize)
		// A dual result holds a result per generated test (~100): fewer of them fit the memory.
		e.dualCache = newVerdictCache(max(cfg.CacheSize/20, 100))
	}

	// Resolve the real interpreter once: a launcher such as a pyenv shim needs an environment
	// the sandbox does not give, and costs a shell start per candidate.
	out, err := exec.Command(cfg.Python, "-I", "-S", "-c",
		"import sys, platform; print(sys.executable); print(platform.python_version())").Output()
	if err != nil {
		return nil, fmt.Errorf("executor: python %q does not run: %w", cfg.Python, err)
	}
	lines := strings.Fields(string(out))
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "/") {
		return nil, fmt.Errorf("executor: python %q: unexpected self-description %q", cfg.Python, out)
	}
	e.python, e.pyVersion = lines[0], lines[1]

	if cfg.Backend == BackendZygote {
		pool, err := newZygotePool(e)
		if err != nil {
			return nil, err
		}
		e.pool = pool
		probe := schemas.Problem{ProblemID: "probe", TestStyle: schemas.StyleAsserts, Tests: []string{"assert f() == 1"}}
		if r := e.Execute(context.Background(), probe, "def f():\n    return 1\n"); r.Err != nil || r.Label != schemas.Pass {
			pool.close()
			return nil, fmt.Errorf("executor: zygote backend does not work: %v %s %s", r.Err, r.Kind, r.Detail)
		}
		return e, nil
	}

	// Strongest first. As root, run the program as nobody so that it cannot write host files;
	// that needs an interpreter nobody can read (not one under /root), else map our own uid.
	ns := uintptr(syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS)
	uid, gid := os.Geteuid(), os.Getegid()
	var boxes []sandbox
	if uid == 0 {
		boxes = append(boxes, sandbox{"ns", ns | syscall.CLONE_NEWPID, nobodyID, nobodyID})
	}
	self := "ns"
	if uid == 0 {
		self = "ns-hostroot" // network is gone, but host files are writable as root
	}
	boxes = append(boxes,
		sandbox{self, ns | syscall.CLONE_NEWPID, uid, gid},
		sandbox{self + "-nopid", ns, uid, gid},
		sandbox{"nons", 0, uid, gid})
	probe := schemas.Problem{ProblemID: "probe", TestStyle: schemas.StyleAsserts, Tests: []string{"assert f() == 1"}}
	var failures []string
	for i, b := range boxes {
		e.box = b
		r := e.run(context.Background(), probe, "def f():\n    return 1\n")
		if r.Err == nil && r.Label == schemas.Pass {
			if i > 0 {
				log.Printf("executor: sandbox %q (uid %d) chosen; stronger ones failed: %s", b.name, b.uid, strings.Join(failures, "; "))
			}
			return e, nil
		}
		failures = append(failures, fmt.Sprintf("%s/uid %d: %v %s %s", b.name, b.uid, r.Err, r.Kind, r.Detail))
	}
	return nil, fmt.Errorf("executor: the harness does not work with %s: %s", e.python, strings.Join(failures, "; "))
}

// Version identifies backend, interpreter and sandbox, e.g. "simple-1/python-3.11.7/ns" or
// "zygote-1/python-3.11.7/ns-ro-seccomp".
func (e *Executor) Version() string {
	if e.pool != nil {
		return fmt.Sprintf("%s/python-%s/ns", zygoteVersion, e.pyVersion)
	}
	return fmt.Sprintf("%s/python-%s/%s", backendVersion, e.pyVersion, e.box.name)
}

// Backend is the backend in use.
func (e *Executor) Backend() string { return e.cfg.Backend }

// Isolation reports what the zygote backend has in force (zero for the simple backend).
func (e *Executor) Isolation() Isolation {
	if e.pool == nil {
		return Isolation{}
	}
	return e.pool.iso
}

// Close stops the workers (zygote backend). Execute must not be called after Close.
func (e *Executor) Close() {
	if e.pool != nil {
		e.pool.close()
	}
}

// Execute runs code against p's tests. Candidate failures are labels (Err nil); Err is set only
// when no label could be produced.
func (e *Executor) Execute(ctx context.Context, p schemas.Problem, code string) Result {
	if err := p.Validate(); err != nil {
		return Result{Err: fmt.Errorf("%w: %v", ErrInvalidProblem, err)}
	}
	if r, decided := precheck(code); decided {
		return r
	}
	if e.cache == nil {
		return e.executeUncached(ctx, p, code)
	}
	return e.cache.do(ctx, keyOf(p, code), func() Result {
		if e.cfg.Lookup != nil {
			sum := sha256.Sum256([]byte(code))
			label, kind, detail, found, err := e.cfg.Lookup.LookupVerdict(ctx, p.ProblemID, p.SuiteHash(), hex.EncodeToString(sum[:]))
			if err == nil && found && (label == schemas.Pass || label == schemas.Fail) && kind != schemas.KindTimeout {
				e.cache.stats.store.Add(1)
				return Result{Label: label, Kind: kind, Detail: detail}
			}
		}
		e.cache.stats.executed.Add(1)
		return e.executeUncached(ctx, p, code)
	})
}

// precheck decides what needs no run: there is no program to run.
func precheck(code string) (Result, bool) {
	if !utf8.ValidString(code) {
		return Result{Label: schemas.Fail, Kind: schemas.KindSyntax, Detail: "code is not valid UTF-8"}, true
	}
	if strings.TrimSpace(code) == "" {
		return Result{Label: schemas.Fail, Kind: schemas.KindSyntax, Detail: "code is empty"}, true
	}
	return Result{}, false
}

// CacheStats reports how candidates were answered so far (Execute and Dual together).
func (e *Executor) CacheStats() CacheStats {
	if e.cache == nil {
		return CacheStats{}
	}
	c, d := &e.cache.stats, &e.dualCache.stats
	return CacheStats{Executed: c.executed.Load() + d.executed.Load(), MemoryHits: c.memory.Load() + d.memory.Load(), StoreHits: c.store.Load()}
}

// Recycles is how many sandbox workers were retired and replaced so far (a candidate that killed
// or wedged its worker, an unclean /tmp, an abandoned run, age); 0 without the zygote backend.
func (e *Executor) Recycles() int64 {
	if e.pool == nil {
		return 0
	}
	return e.pool.Recycled.Load()
}

// executeUncached runs the candidate (the caller validated p and code).
func (e *Executor) executeUncached(ctx context.Context, p schemas.Problem, code string) Result {
	select {
	case e.sem <- struct{}{}:
	case <-ctx.Done():
		return Result{Err: ctx.Err()}
	}
	defer func() { <-e.sem }()
	if e.pool != nil {
		return e.pool.execute(ctx, p, code)
	}
	return e.run(ctx, p, code)
}

// Verdict executes c against p and fills every Verdict field. The error is Result.Err: no
// verdict must be published for it.
func (e *Executor) Verdict(ctx context.Context, p schemas.Problem, c schemas.Candidate) (schemas.Verdict, error) {
	started := time.Now()
	r := e.Execute(ctx, p, c.Code)
	if r.Err != nil {
		return schemas.Verdict{}, r.Err
	}
	return e.verdictOf(p, c, r, started), nil
}

// verdictOf fills every Verdict field from a Result that has a label.
func (e *Executor) verdictOf(p schemas.Problem, c schemas.Candidate, r Result, started time.Time) schemas.Verdict {
	kind := r.Kind
	if r.Label == schemas.Pass {
		kind = schemas.KindNone
	}
	benchmark := c.Benchmark
	if benchmark == "" {
		benchmark = p.Benchmark
	}
	split := c.Split
	if split == "" {
		split = p.Split
	}
	sum := sha256.Sum256([]byte(c.Code))
	return schemas.Verdict{
		CandidateID: c.CandidateID, RequestID: c.RequestID, ProblemID: c.ProblemID,
		Benchmark: benchmark, Split: split, Model: c.Model, SampleIndex: c.SampleIndex,
		Label: r.Label, FailureKind: kind, Detail: r.Detail, Tests: r.Tests,
		RuntimeMs:       float64(r.Runtime.Microseconds()) / 1000,
		ExecutorVersion: e.Version(),
		// Hash of the suite actually run, not the stored field, so a stale hash cannot mislabel.
		TestSuiteHash: p.SuiteHash(),
		CodeSHA256:    hex.EncodeToString(sum[:]),
		ExecutedAtMs:  started.UnixMilli(),
	}
}

// job is what the harness reads on stdin before any candidate code runs.
type job struct {
	Nonce   string   `json:"nonce"`
	Imports string   `json:"imports"`
	Code    string   `json:"code"`
	Setup   string   `json:"setup"`
	Tests   []string `json:"tests"`
	Limits  limits   `json:"limits"`
}

type limits struct {
	CPUSeconds int64 `json:"cpu_s"`
	ASBytes    int64 `json:"as_bytes"`
	FSizeBytes int64 `json:"fsize_bytes"`
	NoFile     int64 `json:"nofile"`
}

// newJob builds the program in the benchmarks' order: imports, code, setup (after the code: MBPP
// 367/927 build objects of classes the solution defines), then the tests. Check style (HumanEval):
// the tests define check(candidate); the single test is the call check(entry_point).
func newJob(p schemas.Problem, code string, timeout time.Duration, mem int64) (job, error) {
	var n [16]byte
	if _, err := rand.Read(n[:]); err != nil {
		return job{}, err
	}
	j := job{
		Nonce: hex.EncodeToString(n[:]), Imports: strings.Join(p.TestImports, "\n"), Code: code,
		Setup: p.TestSetup, Tests: p.Tests,
		Limits: limits{
			// CPU can't exceed wall time single-threaded; +1s so the wall timer normally fires first.
			CPUSeconds: int64(math.Ceil(timeout.Seconds())) + 1,
			ASBytes:    mem, FSizeBytes: fileSizeLimit, NoFile: openFileLimit,
		},
	}
	if p.TestStyle == schemas.StyleCheck {
		j.Setup = strings.Join(append([]string{p.TestSetup}, p.Tests...), "\n")
		j.Tests = []string{"check(" + p.EntryPoint + ")"}
	}
	return j, nil
}

func (e *Executor) timeout(p schemas.Problem) time.Duration {
	if p.TimeoutMs > 0 {
		return time.Duration(p.TimeoutMs) * time.Millisecond
	}
	if t, ok := e.timeouts.Load(p.ProblemID + "\x00" + p.SuiteHash()); ok {
		return t.(time.Duration)
	}
	return e.cfg.Timeout
}

// exitInfo is how the process ended, as seen from Go.
type exitInfo struct {
	timedOut, outputLimit bool
	status                syscall.WaitStatus
	cpu                   time.Duration
	maxRSS                int64 // bytes
	tail                  string
}

// run executes one candidate in a fresh interpreter (the caller holds a worker slot).
func (e *Executor) run(ctx context.Context, p schemas.Problem, code string) Result {
	timeout := e.timeout(p)
	j, err := newJob(p, code, timeout, e.cfg.MemoryBytes)
	if err != nil {
		return Result{Err: err}
	}
	stdin, err := json.Marshal(j)
	if err != nil {
		return Result{Err: err}
	}
	dir, err := os.MkdirTemp(e.cfg.TempDir, "cv-exec-")
	if err != nil {
		return Result{Err: err}
	}
	defer os.RemoveAll(dir)
	if e.box.uid != os.Geteuid() {
		if err := os.Chown(dir, e.box.uid, e.box.gid); err != nil {
			return Result{Err: err}
		}
	}

	outR, outW, err := os.Pipe()
	if err != nil {
		return Result{Err: err}
	}
	defer outR.Close()
	frR, frW, err := os.Pipe()
	if err != nil {
		outW.Close()
		return Result{Err: err}
	}
	defer frR.Close()

	cmd := exec.Command(e.python, "-I", "-S", "-c", harnessSource)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + dir, "TMPDIR=" + dir, "LANG=C.UTF-8"}
	cmd.Stdin = bytes.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = outW, outW // one stream, capped as a whole
	cmd.ExtraFiles = []*os.File{frW}    // fd 3: result frames
	cmd.SysProcAttr = e.box.attr()
	cmd.WaitDelay = time.Second // stdin copier: never hang on a stuck pipe

	start := time.Now()
	err = cmd.Start()
	outW.Close()
	frW.Close()
	if err != nil {
		return Result{Err: fmt.Errorf("executor: start %s: %w", e.python, err)}
	}
	pgid := cmd.Process.Pid // Setpgid: the group id is the leader's pid
	kill := func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) }

	overflow := make(chan struct{})
	outDone := make(chan string, 1)
	go func() { outDone <- readCapped(outR, e.cfg.OutputBytes, overflow) }()
	frDone := make(chan []byte, 1)
	go func() { frDone <- readFrames(frR) }()
	waited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(waited) }()

	var info exitInfo
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	cancelled := false
	select {
	case <-waited:
	case <-timer.C:
		info.timedOut = true
	case <-overflow:
		info.outputLimit = true
	case <-ctx.Done():
		cancelled = true
	}
	kill() // also reaps whatever the program left running in its group
	<-waited
	elapsed := time.Since(start)
	// Readers end at EOF; a descendant that escaped the group (no pid namespace) may hold the pipes.
	_ = outR.SetReadDeadline(time.Now().Add(drainGrace))
	_ = frR.SetReadDeadline(time.Now().Add(drainGrace))
	info.tail = <-outDone
	frames := <-frDone
	if cancelled {
		return Result{Err: ctx.Err()}
	}
	select { // the overflow may have raced with a normal exit
	case <-overflow:
		info.outputLimit = true
	default:
	}
	st := cmd.ProcessState
	info.status = st.Sys().(syscall.WaitStatus)
	info.cpu = st.UserTime() + st.SystemTime()
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		info.maxRSS = ru.Maxrss * 1024
	}
	r := e.label(frames, j, info, timeout)
	r.Runtime = elapsed
	return r
}

func (b sandbox) attr() *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{
		Setpgid: true, // one group to kill: the program and whatever it spawns
		// The program dies with us. (Pdeathsig follows the OS thread that started it; Go only
		// ends threads that were locked by a goroutine, which os/exec does not do.)
		Pdeathsig: syscall.SIGKILL,
	}
	if b.cloneflags != 0 {
		a.Cloneflags = b.cloneflags
		a.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: b.uid, Size: 1}}
		a.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: b.gid, Size: 1}}
		a.GidMappingsEnableSetgroups = false
		// Become uid/gid 0 of the new namespace, i.e. b.uid/b.gid on the host. Without this the
		// process keeps our host credentials (root stays root for file access, merely unmapped).
		a.Credential = &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true}
	}
	return a
}

// readCapped counts the program's output, keeps its tail for details, and closes overflow once
// more than limit bytes arrived (the caller then kills the program). It reads to EOF or deadline.
func readCapped(f *os.File, limit int64, overflow chan struct{}) string {
	var total int64
	var tail []byte
	buf := make([]byte, 32<<10)
	for {
		n, err := f.Read(buf)
		if n > 0 {
			if total <= limit && total+int64(n) > limit {
				close(overflow)
			}
			total += int64(n)
			tail = append(tail, buf[:n]...)
			if len(tail) > tailBytes {
				tail = append(tail[:0], tail[len(tail)-tailBytes:]...)
			}
		}
		if err != nil {
			return strings.ToValidUTF8(string(tail), "\uFFFD")
		}
	}
}

// readFrames reads fd 3 to EOF (or deadline), keeping at most frameCap+1 bytes.
func readFrames(f *os.File) []byte {
	var b bytes.Buffer
	buf := make([]byte, 32<<10)
	for {
		n, err := f.Read(buf)
		if n > 0 && b.Len() <= frameCap {
			b.Write(buf[:n])
		}
		if err != nil {
			return b.Bytes()
		}
	}
}

// frame is one line the harness writes on fd 3.
type frame struct {
	T     string `json:"t"` // phase | test | end
	Name  string `json:"name"`
	I     int    `json:"i"`
	OK    bool   `json:"ok"`
	Kind  string `json:"kind"`
	Msg   string `json:"msg"`
	Nonce string `json:"nonce"`
	Tests int    `json:"tests"`
}

// harnessKind reports whether the harness may report kind k.
func harnessKind(k string) bool {
	switch k {
	case schemas.KindAssertion, schemas.KindException, schemas.KindSyntax, schemas.KindMemory:
		return true
	}
	return false
}

// label decides the simple backend's Result: its tests are all statements (nonce path), judged by
// the one frame parser, labelItems.
func (e *Executor) label(raw []byte, j job, x exitInfo, timeout time.Duration) Result {
	pl := plan{items: make([]item, len(j.Tests))}
	for i, t := range j.Tests {
		pl.items[i] = item{Stmt: t}
	}
	return e.labelItems(raw, pl, j.Nonce, x, timeout, j.Limits.CPUSeconds)
}

func exitDetail(x exitInfo) string {
	s := fmt.Sprintf("exit status %d", x.status.ExitStatus())
	if x.status.Signaled() {
		s = "killed by signal " + x.status.Signal().String()
	}
	if t := strings.TrimSpace(x.tail); t != "" {
		if len(t) > 300 {
			t = "…" + t[len(t)-300:]
		}
		s += "; output: " + t
	}
	return s
}

// Workers is the number of programs this executor runs at once.
func (e *Executor) Workers() int { return e.cfg.Workers }
