package bench

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"sort"
	"time"

	"github.com/codeverify/codeverify/internal/config"
	"github.com/codeverify/codeverify/processors/executor"
	"github.com/codeverify/codeverify/processors/testgen"
	"github.com/codeverify/codeverify/producers"
	"github.com/codeverify/codeverify/schemas"
)

// dual measures dual execution on the real CodeGen-16B HumanEval samples with their generated
// tests (CodeT's extraction, the most frequent perProblem asserts of each problem): first the
// verdict-only rate (the baseline), then verdict + behaviour, over the same candidates, every one
// executed (no cache), with calibrated per-problem timeouts. The hidden labels of the two runs are
// compared; the last line is "candidates/s: N  tests/s: M" of the dual run.
func dual(ctx context.Context, env *config.Env, o ExecutorOptions, w io.Writer) error {
	n, perProblem, testLimit, totalLimit := o.DualN, o.DualTests, o.GenTestLimit, o.GenTotalLimit
	dir, err := env.DataPath("samples", "codet_humaneval_codegen16b")
	if err != nil {
		return err
	}
	problems, err := producers.LoadHumanEval(filepath.Join(dir, "HumanEval_for_code_generation.jsonl"))
	if err != nil {
		return err
	}
	const model = "codegen-mono-16b"
	cands, _, err := producers.LoadCodeTSamples(filepath.Join(dir, "HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_code_solution.dev100.jsonl"), problems, producers.SampleOptions{Model: model})
	if err != nil {
		return err
	}
	sets, err := producers.LoadCodeTTests(ctx, filepath.Join(dir, "HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_test_case.dev100.jsonl"), problems, model, testgen.Python{})
	if err != nil {
		return err
	}
	tests := map[string][]schemas.GeneratedAssert{}
	total := 0
	for _, s := range sets {
		as := append([]schemas.GeneratedAssert(nil), s.Asserts...)
		sort.SliceStable(as, func(i, j int) bool { return as[i].Frequency > as[j].Frequency })
		tests[s.ProblemID] = as[:min(perProblem, len(as))]
		total += len(tests[s.ProblemID])
	}
	byID := map[string]schemas.Problem{}
	for _, p := range problems {
		byID[p.ProblemID] = p
	}
	if n <= 0 || n > len(cands) {
		n = len(cands)
	}
	cands = cands[:n]

	cfg := env.ExecutorConfig(executor.BackendZygote, -1)
	cfg.GenTestLimit, cfg.GenTotalLimit = testLimit, totalLimit
	ex, calibrated, err := benchExecutor(ctx, w, cfg, problems)
	if err != nil {
		return err
	}
	defer ex.Close()
	fmt.Fprintf(w, "generated tests: %v CPU each, %v CPU for all of a candidate's\n", testLimit, totalLimit)
	fmt.Fprintf(w, "data: %d candidates of %d HumanEval problems (%d calibrated); generated tests: %d test sets, %.1f asserts per problem (the %d most frequent of CodeT's extraction)\n",
		n, len(sets), calibrated, len(sets), float64(total)/float64(max(1, len(sets))), perProblem)

	type outcome struct {
		label, kind string
		results     []schemas.GeneratedTestResult
		err         error
		rt          float64
	}
	var cpu time.Duration // CPU time of the last run: this process, the zygotes and their children
	run := func(dual bool) ([]outcome, time.Duration) {
		out := make([]outcome, len(cands))
		cpu0 := treeCPU()
		defer func() { cpu = treeCPU() - cpu0 }()
		start := time.Now()
		fanOut(ex.Workers(), len(cands), func(i int) {
			c := cands[i]
			var ts []schemas.GeneratedAssert
			if dual {
				ts = tests[c.ProblemID]
			}
			v, b, err := ex.Dual(ctx, byID[c.ProblemID], ts, c)
			out[i] = outcome{label: v.Label, kind: v.FailureKind, results: b.Results, err: err, rt: b.RuntimeMs}
		})
		return out, time.Since(start)
	}
	summary := func(name string, out []outcome, d time.Duration) {
		pass, errs, ran := 0, 0, 0
		st := map[string]int{}
		for _, o := range out {
			if o.err != nil {
				errs++
				continue
			}
			if o.label == schemas.Pass {
				pass++
			}
			for _, r := range o.results {
				st[r.Status]++
				ran++
			}
		}
		fmt.Fprintf(w, "%-14s %d candidates in %.2fs: %.1f candidates/s, %.0f tests/s; CPU %.2f ms per candidate (%.0f candidates/s on %d idle cores); PASS %d, errors %d; test statuses pass=%d fail=%d error=%d timeout=%d\n",
			name+":", len(out), d.Seconds(), float64(len(out))/d.Seconds(), float64(ran)/d.Seconds(),
			cpu.Seconds()*1000/float64(len(out)), float64(runtime.NumCPU())*float64(len(out))/cpu.Seconds(), runtime.NumCPU(), pass, errs,
			st[schemas.TestPass], st[schemas.TestFail], st[schemas.TestError], st[schemas.TestTimeout])
	}
	base, dBase := run(false)
	summary("verdict only", base, dBase)
	dual, dDual := run(true)
	summary("dual", dual, dDual)
	differ := 0
	for i := range cands {
		if base[i].label != dual[i].label || base[i].kind != dual[i].kind {
			differ++
		}
	}
	var rts []float64
	for _, o := range dual {
		rts = append(rts, o.rt)
	}
	sort.Float64s(rts)
	if len(rts) > 0 {
		fmt.Fprintf(w, "generated tests' wall time per candidate: p50 %.2fms p90 %.2fms p99 %.2fms max %.0fms; continuation jobs %d\n",
			rts[len(rts)/2], rts[len(rts)*9/10], rts[len(rts)*99/100], rts[len(rts)-1], ex.DualContinuations())
	}
	fmt.Fprintf(w, "hidden labels differing between the two runs: %d (a timeout under load can go either way)\n", differ)
	ran := 0
	for _, o := range dual {
		ran += len(o.results)
	}
	fmt.Fprintf(w, "candidates/s: %.0f  tests/s: %.0f\n", float64(len(dual))/dDual.Seconds(), float64(ran)/dDual.Seconds())
	return nil
}
