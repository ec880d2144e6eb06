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
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/codeverify/codeverify/internal/permanent"
	"github.com/codeverify/codeverify/schemas"
)

const (
	fileSizeLimit = 16 << 20 // RLIMIT_FSIZE: files a program may write in its temp dir
	openFileLimit = 256      // RLIMIT_NOFILE
	frameCap      = 8 << 20  // result frames larger than this are malformed, not read further
	tailBytes     = 2048     // output tail kept for failure details
	drainGrace    = 250 * time.Millisecond
	nobodyID      = 65534
)

// Errors that mean "no label was produced"; they must never become a FAIL verdict. All three are
// permanent (internal/permanent): the same input would fail the same way again.
var (
	ErrUnknownProblem   = permanent.New("executor: unknown problem")
	ErrInvalidProblem   = permanent.New("executor: invalid problem")
	ErrInvalidCandidate = permanent.New("executor: invalid candidate")
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

	if err := newSimple(e); err != nil {
		return nil, err
	}
	return e, nil
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

func (e *Executor) timeout(p schemas.Problem) time.Duration {
	if p.TimeoutMs > 0 {
		return time.Duration(p.TimeoutMs) * time.Millisecond
	}
	if t, ok := e.timeouts.Load(p.ProblemID + "\x00" + p.SuiteHash()); ok {
		return t.(time.Duration)
	}
	return e.cfg.Timeout
}

// Workers is the number of programs this executor runs at once.
func (e *Executor) Workers() int { return e.cfg.Workers }
