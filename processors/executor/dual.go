package executor

// Dual execution: one sandbox child per candidate runs the problem's hidden tests and then, once
// their end line is written (the hidden verdict is settled there and nothing after it can change
// it), the problem's generated asserts. Generated asserts are model output, often wrong and
// sometimes hostile, so each runs under its own CPU limit inside a CPU budget for them all, on a
// fresh copy of the program (the hidden tests' effects on its globals never reach them), with its
// output discarded. They take the split path of the hidden asserts: `f(x) == y` is evaluated as
// f(x) in the sandbox and compared here, which also gives the value's fingerprint (results of
// `call(...) == literal` asserts are marked Shaped: the features compare those values). A generated
// test that ends the process (os._exit, a kill at the wall limit) costs only itself: the tests
// after it run in a continuation job that loads the program again and runs only them.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"syscall"
	"time"

	"github.com/codeverify/codeverify/processors/executor/pyliteral"
	"github.com/codeverify/codeverify/schemas"
)

// ErrDualUnsupported: the simple backend does not run generated tests.
var ErrDualUnsupported = errors.New("executor: generated tests need the zygote backend")

const (
	genFlushFirst   = 32 // result lines per write in a candidate's first job; 1 in continuations
	maxGenRestarts  = 8  // continuations per candidate; tests still pending after them are errors
	genPlanCacheMax = 10_000
)

// TestsHash identifies a generated test set (codes and frequencies, in order); it goes into
// Behavior.TestsHash and keys cached behaviours.
func TestsHash(tests []schemas.GeneratedAssert) string {
	h := sha256.New()
	for _, t := range tests {
		fmt.Fprintf(h, "%d\x00%s\x01", t.Frequency, t.Code)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// genPlan is a generated test set turned into items once (cached by TestsHash).
type genPlan struct {
	items []pyliteral.Item
	ids   []string
	freqs []int32
	hash  string
}

// shaped: test i is `f(...) == literal` (see pyliteral.Item.Shaped), which GeneratedTestResult.Shaped reports.
func (gp genPlan) shaped(i int) bool { return gp.items[i].Shaped }

func (e *Executor) genPlan(tests []schemas.GeneratedAssert) genPlan {
	key := TestsHash(tests)
	if v, ok := e.genPlans.Load(key); ok {
		return v.(genPlan)
	}
	gp := genPlan{hash: key, items: make([]pyliteral.Item, len(tests)), ids: make([]string, len(tests)), freqs: make([]int32, len(tests))}
	for i, t := range tests {
		it, ok := pyliteral.SplitAssert(t.Code)
		if !ok {
			it = pyliteral.Item{Stmt: t.Code}
		}
		gp.items[i], gp.ids[i], gp.freqs[i] = it, schemas.GeneratedTestID(t.Code), t.Frequency
	}
	if e.genPlanCount.Add(1) > genPlanCacheMax {
		e.genPlans.Clear()
		e.genPlanCount.Store(0)
	}
	e.genPlans.Store(key, gp)
	return gp
}

// genRequest is the generated tests one job runs: after the hidden tests, or alone (only).
type genRequest struct {
	items []pyliteral.Item
	only  bool
	flush int
}

// genRun is what one job reported about its generated tests.
type genRun struct {
	frames   []byte        // the lines after the hidden tests' end line
	timedOut bool          // the job was killed at a wall limit while they ran
	x        exitInfo      // how the process ended
	wall     time.Duration // wall time they took
}

// addGen puts the generated tests into a job. A gen-only job loads the candidate's code alone:
// the problem's imports and setup belong to its hidden tests.
func (e *Executor) addGen(j *zjob, g *genRequest) {
	j.Gen = make([]zitem, len(g.items))
	for i, it := range g.items {
		j.Gen[i] = zitem{E: it.Expr, S: it.Stmt}
	}
	if g.only {
		j.GenOnly, j.Items, j.Imports, j.Setup, j.Entry = true, []zitem{}, "", "", ""
	}
	j.GenTestS = e.cfg.GenTestLimit.Seconds()
	j.GenCPUS = e.cfg.GenTotalLimit.Seconds()
	j.GenWallS = (e.cfg.GenTotalLimit + 250*time.Millisecond).Seconds()
	j.GenHardS = e.genWall().Seconds()
	j.GenFlush = g.flush
	j.Limits["cpu_gen_s"] = int64(math.Ceil(j.GenHardS))
}

// genWall is the hard wall limit of a job's generated tests. The zygote stops them earlier, at
// their CPU budget plus 250ms of wall time, unless the child was starved of CPU by other work:
// only a test that no signal interrupts (a long C call, a loop that swallows every exception)
// meets that limit; the child's own timers stop the others.
func (e *Executor) genWall() time.Duration {
	return 4*e.cfg.GenTotalLimit + time.Second
}

// Dual executes c against p's hidden tests and its generated tests in one sandbox child. The
// Verdict is exactly what Verdict would give; the Behavior holds one result per generated test,
// in order, and nothing of the hidden tests. With no generated tests it costs what Verdict costs.
// The error is as for Verdict: nothing must be published for it.
func (e *Executor) Dual(ctx context.Context, p schemas.Problem, tests []schemas.GeneratedAssert, c schemas.Candidate) (schemas.Verdict, schemas.Behavior, error) {
	started := time.Now()
	if len(tests) == 0 {
		v, err := e.Verdict(ctx, p, c)
		if err != nil {
			return schemas.Verdict{}, schemas.Behavior{}, err
		}
		return v, e.behaviorOf(p, c, TestsHash(nil), nil, 0, started), nil
	}
	if e.pool == nil {
		return schemas.Verdict{}, schemas.Behavior{}, ErrDualUnsupported
	}
	r := e.executeDual(ctx, p, tests, c.Code)
	if r.Err != nil {
		return schemas.Verdict{}, schemas.Behavior{}, r.Err
	}
	return e.verdictOf(p, c, r, started), e.behaviorOf(p, c, TestsHash(tests), r.gen, r.genRuntime, started), nil
}

func (e *Executor) behaviorOf(p schemas.Problem, c schemas.Candidate, hash string, results []schemas.GeneratedTestResult, runtime time.Duration, started time.Time) schemas.Behavior {
	return schemas.Behavior{
		CandidateID: c.CandidateID, RequestID: c.RequestID, ProblemID: c.ProblemID,
		Benchmark: firstOf(c.Benchmark, p.Benchmark), Split: firstOf(c.Split, p.Split), Model: c.Model,
		SampleIndex: c.SampleIndex, TestsHash: hash, Results: results,
		RuntimeMs: float64(runtime.Microseconds()) / 1000, ExecutorVersion: e.Version(), ExecutedAtMs: started.UnixMilli(),
	}
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// executeDual is Execute plus the generated tests (Result.gen). Cached per (problem, suite, code,
// tests); the hidden part also answers and fills the verdict cache, so Execute and Dual agree.
func (e *Executor) executeDual(ctx context.Context, p schemas.Problem, tests []schemas.GeneratedAssert, code string) Result {
	if err := p.Validate(); err != nil {
		return Result{Err: fmt.Errorf("%w: %v", ErrInvalidProblem, err)}
	}
	gp := e.genPlan(tests)
	if r, decided := precheck(code); decided {
		r.gen = allStatus(gp, schemas.TestError)
		return r
	}
	if e.dualCache == nil {
		return e.runDual(ctx, p, code, gp)
	}
	k := keyOf(p, code)
	dk := k
	dk.tests = gp.hash
	return e.dualCache.do(ctx, dk, func() Result {
		e.dualCache.stats.executed.Add(1)
		r := e.runDual(ctx, p, code, gp)
		if r.Err != nil {
			return r
		}
		if cached, ok := e.cache.peek(k); ok {
			r.Label, r.Kind, r.Detail, r.Tests = cached.Label, cached.Kind, cached.Detail, cached.Tests
		} else {
			hidden := r
			hidden.gen, hidden.genRuntime = nil, 0
			e.cache.offer(k, hidden)
		}
		return r
	})
}

func allStatus(gp genPlan, status string) []schemas.GeneratedTestResult {
	out := make([]schemas.GeneratedTestResult, len(gp.items))
	for i := range out {
		out[i] = schemas.GeneratedTestResult{TestID: gp.ids[i], Frequency: gp.freqs[i], Status: status, Shaped: gp.shaped(i)}
	}
	return out
}

// runDual runs the candidate's first job (hidden tests, then generated ones) and as many
// continuations as the generated tests need (the caller validated p and code).
func (e *Executor) runDual(ctx context.Context, p schemas.Problem, code string, gp genPlan) Result {
	select {
	case e.sem <- struct{}{}:
	case <-ctx.Done():
		return Result{Err: ctx.Err()}
	}
	defer func() { <-e.sem }()
	res := allStatus(gp, "")
	pending := make([]int, len(gp.items))
	for i := range pending {
		pending[i] = i
	}
	r, gr := e.pool.executeJob(ctx, p, code, &genRequest{items: gp.items, flush: genFlushFirst})
	if r.Err != nil {
		return r
	}
	genRuntime := gr.wall
	for restarts := 0; ; restarts++ {
		rest, done, started := applyGen(gr, gp, pending, res, restarts > 0)
		if done || len(rest) == 0 {
			break
		}
		if !started && (restarts > 0 || r.phase == "code") {
			// The program did not even load: every test is an error.
			for _, i := range rest {
				res[i].Status = schemas.TestError
			}
			break
		}
		if restarts == maxGenRestarts || genRuntime > 2*e.genWall() {
			// A test set that keeps ending the process gets no more of it: what is left is an
			// error (too many restarts) or a timeout (their wall time is spent).
			st := schemas.TestError
			if restarts < maxGenRestarts {
				st = schemas.TestTimeout
			}
			for _, i := range rest {
				res[i].Status = st
			}
			break
		}
		pending = rest
		items := make([]pyliteral.Item, len(pending))
		for n, i := range pending {
			items[n] = gp.items[i]
		}
		e.continuations.Add(1)
		var cr Result
		cr, gr = e.pool.executeJob(ctx, p, code, &genRequest{items: items, only: true, flush: 1})
		if cr.Err != nil {
			return Result{Err: cr.Err}
		}
		genRuntime += gr.wall
	}
	r.gen, r.genRuntime = res, genRuntime
	return r
}

// applyGen records what one job reported for the tests pending (indices into gp, in the order the
// job ran them). done: nothing is left to run. Otherwise rest is what a continuation must run;
// started tells whether the job reached the generated tests at all. When the job wrote each line
// as its test ended (exact), the test running when the process ended (or when its lines stopped
// making sense) is charged with it: timeout when it was killed at a time limit, error otherwise.
// A job that wrote its lines in batches may have lost some: the continuation runs them again.
func applyGen(gr genRun, gp genPlan, pending []int, res []schemas.GeneratedTestResult, exact bool) (rest []int, done, started bool) {
	frames, _ := parseFrames(gr.frames)
	k := 0
	charge := func() ([]int, bool, bool) {
		if k >= len(pending) {
			return nil, true, true
		}
		if !exact {
			return pending[k:], false, true
		}
		st := schemas.TestError
		if gr.timedOut || gr.x.status.Signaled() && gr.x.status.Signal() == syscall.SIGXCPU {
			st = schemas.TestTimeout
		}
		res[pending[k]].Status = st
		return pending[k+1:], k+1 == len(pending), true
	}
	// A line that is not a frame ends the lines read, as the end of the output does: either way
	// what follows the last frame is decided after the loop.
	for _, f := range frames {
		switch {
		case f.T == "gstart" && !started:
			started = true
		case f.T == "gnoload" && !started:
			for _, i := range pending {
				res[i].Status = schemas.TestError
			}
			return nil, true, true
		case !started:
			return pending, false, false
		case (f.T == "gval" || f.T == "gtest") && f.I == k && k < len(pending):
			i := pending[k]
			if f.T == "gval" {
				it := gp.items[i]
				if it.Expr == "" {
					return charge()
				}
				v, ok, _, err := judgeValue(it, f.V)
				if err != nil {
					return charge()
				}
				res[i].Status = schemas.TestFail
				if ok {
					res[i].Status = schemas.TestPass
				}
				if it.JudgesValue() {
					res[i].Fingerprint = fingerprint(v)
				}
			} else if f.OK && gp.items[i].Expr != "" {
				return charge() // a split test's outcome is decided here, never reported as ok
			} else {
				res[i].Status = genStatus(f.OK, f.Kind)
			}
			k++
		case f.T == "gstop" && f.I == k:
			for _, i := range pending[k:] {
				res[i].Status = schemas.TestTimeout
			}
			return nil, true, true
		case f.T == "gend" && k == len(pending) && f.Tests == len(pending):
			return nil, true, true
		default:
			return charge()
		}
	}
	if !started {
		return pending, false, false
	}
	return charge()
}

func genStatus(ok bool, kind string) string {
	switch {
	case ok:
		return schemas.TestPass
	case kind == schemas.KindAssertion:
		return schemas.TestFail
	case kind == schemas.KindTimeout:
		return schemas.TestTimeout
	}
	return schemas.TestError
}

// fingerprint is a short hash of a plain value, equal for values Python considers equal
// (1 == 1.0 == True; sets and dicts in any order); schemas.FingerprintNone for None (never a
// hash, so the features can leave it out); "" for a value that is not plain.
func fingerprint(v pyliteral.Value) string {
	if v.IsNone() {
		return schemas.FingerprintNone
	}
	s, ok := v.Key()
	if !ok {
		return ""
	}
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

// DualContinuations is how many continuation jobs Dual has run: one per generated test that ended
// its process (and one per candidate whose hidden tests ended it before the generated ones began).
func (e *Executor) DualContinuations() int64 { return e.continuations.Load() }
