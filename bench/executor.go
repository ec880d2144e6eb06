package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/codeverify/codeverify/internal/config"
	"github.com/codeverify/codeverify/processors/executor"
	"github.com/codeverify/codeverify/producers"
	"github.com/codeverify/codeverify/schemas"
)

// ExecutorOptions are the settings of the executor benchmark (codeverify bench executor).
type ExecutorOptions struct {
	N      int           // candidates per zygote run
	NaiveN int           // candidates for the naive baseline
	Loops  float64       // share of infinite loops in the second run
	Soak   time.Duration // > 0: run mixed load this long and check for leaks instead
	Dual   bool          // measure dual execution on the real samples instead
	// Dual execution: candidates (0: all), generated asserts per problem, and the CPU limits of one
	// generated test and of all of a candidate's.
	DualN, DualTests            int
	GenTestLimit, GenTotalLimit time.Duration
}

// Executor measures the executor's throughput on MBPP reference solutions: the zygote backend
// without and with o.Loops infinite loops, then a fresh python3 per candidate (the naive baseline)
// in the same run. Its last line is "candidates/s: N  naive: M  ratio: R". A reference still
// labelled wrong when re-run alone makes it fail after that line. o.Soak and o.Dual run the soak
// and dual-execution benchmarks instead.
func Executor(ctx context.Context, env *config.Env, o ExecutorOptions, w io.Writer) error {
	if o.Dual {
		return dual(ctx, env, o, w)
	}
	mbpp, err := env.DataPath("mbpp", "mbpp.jsonl")
	if err != nil {
		return err
	}
	problems, err := producers.LoadProblems(mbpp)
	if err != nil {
		return err
	}
	ex, calibrated, err := benchExecutor(ctx, w, env.ExecutorConfig(executor.BackendZygote, -1), problems)
	if err != nil {
		return err
	}
	defer ex.Close()
	fast := fastProblems(ctx, ex, problems)
	fmt.Fprintf(w, "problems: %d MBPP, %d calibrated, %d with a reference under 100 ms used\n", len(problems), calibrated, len(fast))
	if o.Soak > 0 {
		return runSoak(ctx, w, ex, fast, o.Soak)
	}
	plain, err := benchCandidates(fast, o.N, 0)
	if err != nil {
		return err
	}
	r0 := runLoad(ctx, ex, plain)
	printLoad(w, "zygote, no loops", r0)
	looping, err := benchCandidates(fast, o.N, o.Loops)
	if err != nil {
		return err
	}
	rl := runLoad(ctx, ex, looping)
	printLoad(w, fmt.Sprintf("zygote, %.0f%% infinite loops", o.Loops*100), rl)
	naive, err := env.NewExecutor(executor.BackendSimple, -1)
	if err != nil {
		return err
	}
	defer naive.Close()
	rn := runLoad(ctx, naive, plain[:min(o.NaiveN, len(plain))])
	printLoad(w, "naive (fresh python3 per candidate)", rn)
	// A reference that timed out under load (its calibrated limit is tight when other work
	// shares the cores) runs again alone; only what still is not PASS is a wrong label.
	wrong := 0
	for _, r := range []struct {
		name string
		ex   *executor.Executor
		res  loadResult
	}{{"zygote, no loops", ex, r0}, {"zygote, loops", ex, rl}, {"naive", naive, rn}} {
		still, retried := recheck(ctx, r.ex, r.res.failed)
		if retried > 0 {
			fmt.Fprintf(w, "%s: %d wrong labels (timeouts under load) re-run alone: %d still wrong\n", r.name, retried, still)
		}
		wrong += still
	}
	fmt.Fprintf(w, "candidates/s: %.0f  naive: %.0f  ratio: %.1f\n", r0.rate, rn.rate, r0.rate/rn.rate)
	if wrong > 0 {
		return fmt.Errorf("%d reference solutions were not PASS even when run alone", wrong)
	}
	return nil
}

// benchExecutor builds an executor for a benchmark, prints the machine it runs on and calibrates
// the problems' timeouts (returning how many it calibrated). The caller closes the executor.
func benchExecutor(ctx context.Context, w io.Writer, cfg executor.Config, problems []schemas.Problem) (*executor.Executor, int, error) {
	ex, err := executor.New(cfg)
	if err != nil {
		return nil, 0, err
	}
	printMachine(w, ex)
	calibrated, err := ex.Calibrate(ctx, problems, executor.Calibration{})
	if err != nil {
		ex.Close()
		return nil, 0, err
	}
	return ex, calibrated, nil
}

// fastProblems keeps the problems whose reference passes in under 100 ms.
func fastProblems(ctx context.Context, ex *executor.Executor, ps []schemas.Problem) []schemas.Problem {
	var out []schemas.Problem
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2*ex.Workers())
	for _, p := range ps {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			r := ex.Execute(ctx, p, p.ReferenceCode)
			if r.Err == nil && r.Label == schemas.Pass && r.Runtime < 100*time.Millisecond {
				mu.Lock()
				out = append(out, p)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sort.Slice(out, func(i, j int) bool { return out[i].ProblemID < out[j].ProblemID })
	return out
}

type benchCand struct {
	p        schemas.Problem
	code     string
	wantPass bool
}

// errNoFastProblems: no reference solution passed quickly enough to build candidates from (the
// sandbox is broken or the machine far too slow).
var errNoFastProblems = errors.New("no problem's reference solution passes in under 100 ms: nothing to benchmark with")

// benchCandidates cycles through the problems' references; every 1/loops-th becomes a loop.
func benchCandidates(ps []schemas.Problem, n int, loops float64) ([]benchCand, error) {
	if len(ps) == 0 {
		return nil, errNoFastProblems
	}
	out := make([]benchCand, n)
	every := 0
	if loops > 0 {
		every = int(1 / loops)
	}
	for i := range out {
		p := ps[i%len(ps)]
		out[i] = benchCand{p: p, code: p.ReferenceCode, wantPass: true}
		if every > 0 && i%every == every/2 {
			out[i] = benchCand{p: p, code: p.ReferenceCode + "\nwhile True:\n    pass\n"}
		}
	}
	return out, nil
}
