package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/codeverify/codeverify/processors/executor"
	"github.com/codeverify/codeverify/producers"
	"github.com/codeverify/codeverify/schemas"
	"github.com/spf13/cobra"
)

func (a *app) benchExecutorCmd() *cobra.Command {
	var n, naiveN, dualN, dualTests int
	var loops float64
	var soak time.Duration
	var dual bool
	var genTest, genTotal time.Duration
	cmd := &cobra.Command{
		Use:   "executor",
		Short: "Executor throughput: zygote backend without and with 2% infinite loops, vs a fresh python3 per candidate",
		Long: `Runs MBPP reference solutions (problems whose reference takes over 100 ms are left out, and
said so) through the zygote backend with calibrated per-problem timeouts, every candidate executed
(no cache): once as they are, once with a share of them turned into infinite loops. Then the naive
baseline (backend simple: a fresh python3 per candidate, same tests) in the same run.
A reference labelled wrong under load (a tight calibrated limit while other work shares the
cores) is re-run alone; only what is still wrong then counts, and makes the command fail after
the last line. Last line: candidates/s: N  naive: M  ratio: R (N is the run without loops).
--soak D instead runs D of continuous mixed load and checks processes, fds and RSS do not grow.
--dual instead runs the real CodeGen-16B HumanEval samples against their hidden tests alone
(baseline), then with their generated tests too (--dual-tests per problem, the most frequent of
CodeT's extraction); last line: candidates/s: N  tests/s: M (of the dual run).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := cmd.OutOrStdout()
			if dual {
				return a.dualBench(cmd.Context(), w, dualN, dualTests, genTest, genTotal)
			}
			mbpp, err := a.DataPath("mbpp", "mbpp.jsonl")
			if err != nil {
				return err
			}
			problems, err := producers.LoadProblems(mbpp)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			ex, calibrated, err := benchExecutor(ctx, w, a.ExecutorConfig(executor.BackendZygote, -1), problems)
			if err != nil {
				return err
			}
			defer ex.Close()
			fast := fastProblems(ctx, ex, problems)
			fmt.Fprintf(w, "problems: %d MBPP, %d calibrated, %d with a reference under 100 ms used\n", len(problems), calibrated, len(fast))
			if soak > 0 {
				return runSoak(ctx, w, ex, fast, soak)
			}
			plain := benchCandidates(fast, n, 0)
			r0 := runLoad(ctx, ex, plain)
			report(w, "zygote, no loops", r0)
			rl := runLoad(ctx, ex, benchCandidates(fast, n, loops))
			report(w, fmt.Sprintf("zygote, %.0f%% infinite loops", loops*100), rl)
			naive, err := a.NewExecutor(executor.BackendSimple, -1)
			if err != nil {
				return err
			}
			defer naive.Close()
			rn := runLoad(ctx, naive, plain[:min(naiveN, len(plain))])
			report(w, "naive (fresh python3 per candidate)", rn)
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
		},
	}
	f := cmd.Flags()
	f.IntVar(&n, "n", 6000, "candidates per zygote run")
	f.IntVar(&naiveN, "naive-n", 400, "candidates for the naive baseline")
	f.Float64Var(&loops, "loops", 0.02, "share of infinite loops in the second run")
	f.DurationVar(&soak, "soak", 0, "run mixed load this long and check for leaks instead")
	f.BoolVar(&dual, "dual", false, "measure dual execution (hidden + generated tests) on the real samples instead")
	f.IntVar(&dualN, "dual-n", 0, "candidates for --dual (default: all 10,000)")
	f.IntVar(&dualTests, "dual-tests", 100, "generated asserts per problem for --dual")
	f.DurationVar(&genTest, "gen-test-limit", 100*time.Millisecond, "--dual: CPU limit of one generated test")
	f.DurationVar(&genTotal, "gen-total-limit", 500*time.Millisecond, "--dual: CPU limit of all of a candidate's generated tests")
	limits(f, map[string][2]string{
		"n": {"1", "1000000"}, "naive-n": {"1", "1000000"}, "loops": {"0", "1"}, "soak": {"0s", "168h"},
		"dual-n": {"0", "1000000"}, "dual-tests": {"1", "10000"}, "gen-test-limit": {"1ms", "1h"}, "gen-total-limit": {"1ms", "1h"},
	})
	return cmd
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

// fanOut calls do(i) for every i in [0, n), in order of i, on 2×workers goroutines, and returns
// when all calls have.
func fanOut(workers, n int, do func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for g := 0; g < 2*workers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				do(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

func printMachine(w io.Writer, ex *executor.Executor) {
	model := "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				model = strings.TrimSpace(l[strings.Index(l, ":")+1:])
				break
			}
		}
	}
	fmt.Fprintf(w, "machine: %s, %d cores, %s/%s\n", model, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "executor: %s, %d workers\n", ex.Version(), ex.Workers())
	if iso := ex.Isolation(); iso.Namespaces != "" {
		fmt.Fprintf(w, "isolation: %s\n", iso)
	}
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

// benchCandidates cycles through the problems' references; every 1/loops-th becomes a loop.
func benchCandidates(ps []schemas.Problem, n int, loops float64) []benchCand {
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
	return out
}

type loadResult struct {
	n, wrong  int
	failed    []benchCand // candidates labelled against expectation (or with no label)
	elapsed   time.Duration
	rate      float64
	p50, p99  time.Duration
	kinds     map[string]int
	infraErrs int
}

func runLoad(ctx context.Context, ex *executor.Executor, cands []benchCand) loadResult {
	lat := make([]time.Duration, len(cands))
	res := loadResult{n: len(cands), kinds: map[string]int{}}
	var mu sync.Mutex
	start := time.Now()
	fanOut(ex.Workers(), len(cands), func(i int) {
		t := time.Now()
		r := ex.Execute(ctx, cands[i].p, cands[i].code)
		lat[i] = time.Since(t)
		mu.Lock()
		defer mu.Unlock()
		if r.Err != nil {
			res.infraErrs++
			res.failed = append(res.failed, cands[i])
			return
		}
		res.kinds[r.Kind]++
		if (r.Label == schemas.Pass) != cands[i].wantPass {
			res.wrong++
			res.failed = append(res.failed, cands[i])
		}
	})
	res.elapsed = time.Since(start)
	res.rate = float64(len(cands)) / res.elapsed.Seconds()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		res.p50, res.p99 = lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)]
	}
	return res
}

// recheck runs candidates that were wrong (or got no label) under load once more, one at a
// time; it returns how many are still wrong and how many it re-ran.
func recheck(ctx context.Context, ex *executor.Executor, failed []benchCand) (still, retried int) {
	for _, c := range failed {
		r := ex.Execute(ctx, c.p, c.code)
		if r.Err != nil || (r.Label == schemas.Pass) != c.wantPass {
			still++
		}
	}
	return still, len(failed)
}

func report(w io.Writer, name string, r loadResult) {
	kinds := make([]string, 0, len(r.kinds))
	for k, v := range r.kinds {
		kinds = append(kinds, k+"="+strconv.Itoa(v))
	}
	sort.Strings(kinds)
	fmt.Fprintf(w, "%-40s %6d candidates in %7.2fs: %7.1f candidates/s  p50 %6.2fms  p99 %7.2fms  [%s] wrong=%d errors=%d\n",
		name+":", r.n, r.elapsed.Seconds(), r.rate, ms(r.p50), ms(r.p99), strings.Join(kinds, " "), r.wrong, r.infraErrs)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// soakSample is what a leak would show: host processes, sandbox-uid processes and their RSS, and
// this process's fds, goroutines and RSS.
type soakSample struct {
	procs, sandboxProcs, fds, goroutines int
	rssKB, sandboxRSSKB                  int64
}

func sampleHost() soakSample {
	s := soakSample{goroutines: runtime.NumGoroutine()}
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		s.fds = len(fds)
	}
	s.rssKB = statusKB("/proc/self/status", "VmRSS:")
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		s.procs++
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "Uid:") && len(strings.Fields(l)) > 1 && strings.Fields(l)[1] == "65534" {
				s.sandboxProcs++
				s.sandboxRSSKB += statusKB(filepath.Join("/proc", e.Name(), "status"), "VmRSS:")
			}
		}
	}
	return s
}

// treeCPU is the CPU time used so far by this process, its children (the zygotes, whose own
// children are the candidates) and the children it already waited for. On a machine shared with
// other work it tells what a run costs better than its wall time does.
func treeCPU() time.Duration {
	clk := 100.0 // USER_HZ on Linux
	fields := func(pid string) []string {
		b, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil {
			return nil
		}
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i >= 0 {
			return strings.Fields(s[i+1:])
		}
		return nil
	}
	ticks := func(f []string, from, to int) float64 {
		t := 0.0
		for i := from; i <= to && i < len(f); i++ {
			v, _ := strconv.ParseFloat(f[i], 64)
			t += v
		}
		return t
	}
	// Fields after the command: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
	total := ticks(fields("self"), 11, 14)
	self := strconv.Itoa(os.Getpid())
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		if f := fields(e.Name()); len(f) > 14 && f[1] == self {
			total += ticks(f, 11, 14)
		}
	}
	return time.Duration(total / clk * float64(time.Second))
}

func statusKB(path, key string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, key) {
			f := strings.Fields(l)
			if len(f) >= 2 {
				v, _ := strconv.ParseInt(f[1], 10, 64)
				return v
			}
		}
	}
	return 0
}

// soakMix: mostly correct programs, plus failures, loops, memory and output bombs, exceptions,
// processes and threads left running, files left in the sandbox's /tmp.
func soakMix(ps []schemas.Problem, n, round int) []benchCand {
	out := make([]benchCand, n)
	for i := range out {
		p := ps[(i+round*n)%len(ps)]
		ref := p.ReferenceCode
		c := benchCand{p: p, code: ref, wantPass: true}
		switch i % 50 {
		case 1:
			c = benchCand{p: p, code: ref + "\nwhile True:\n    pass\n"}
		case 2:
			c = benchCand{p: p, code: "x = []\nwhile True:\n    x.append(bytearray(10**7))\n"}
		case 3:
			c = benchCand{p: p, code: "print('x' * 5_000_000)\n" + ref}
		case 4:
			c = benchCand{p: p, code: ref + "\nraise ValueError('no')\n"}
		case 5:
			c = benchCand{p: p, code: "import subprocess\nsubprocess.Popen(['sleep', '100'], start_new_session=True)\n" + ref, wantPass: true}
		case 6:
			c = benchCand{p: p, code: "import threading, time\nthreading.Thread(target=time.sleep, args=(100,)).start()\n" + ref, wantPass: true}
		case 7:
			c = benchCand{p: p, code: "open('/tmp/junk', 'w').write('x' * 100000)\n" + ref, wantPass: true}
		case 8:
			c = benchCand{p: p, code: "import os\nos._exit(0)\n"}
		}
		out[i] = c
	}
	return out
}

func runSoak(ctx context.Context, w io.Writer, ex *executor.Executor, ps []schemas.Problem, d time.Duration) error {
	start := time.Now()
	var first, last, peak soakSample
	total, wrong, errs, loadTimeouts := 0, 0, 0, 0
	for round := 0; time.Since(start) < d && ctx.Err() == nil; round++ {
		r := runLoad(ctx, ex, soakMix(ps, 1000, round))
		total += r.n
		errs += r.infraErrs
		// Wrong under load (a tight calibrated limit while other work shares the cores) is only a
		// wrong label if it is still wrong when run alone.
		still, retried := recheck(ctx, ex, r.failed)
		wrong += still
		loadTimeouts += retried - still
		runtime.GC()
		last = sampleHost()
		if round == 0 {
			first, peak = last, last
		}
		peak.procs, peak.fds = max(peak.procs, last.procs), max(peak.fds, last.fds)
		peak.rssKB, peak.sandboxRSSKB = max(peak.rssKB, last.rssKB), max(peak.sandboxRSSKB, last.sandboxRSSKB)
		fmt.Fprintf(w, "soak %6.0fs: %7d candidates (%.0f/s this round), wrong %d, errors %d | host procs %d, sandbox procs %d (RSS %d MiB), fds %d, goroutines %d, RSS %d MiB\n",
			time.Since(start).Seconds(), total, r.rate, wrong, errs, last.procs, last.sandboxProcs, last.sandboxRSSKB>>10, last.fds, last.goroutines, last.rssKB>>10)
	}
	fmt.Fprintf(w, "soak result: %d candidates in %v; start→end: host procs %d→%d, sandbox procs %d→%d, sandbox RSS %d→%d MiB, fds %d→%d, goroutines %d→%d, RSS %d→%d MiB (peak %d MiB); wrong labels %d (plus %d right when re-run alone), infra errors %d (under load)\n",

		total, time.Since(start).Round(time.Second), first.procs, last.procs, first.sandboxProcs, last.sandboxProcs,
		first.sandboxRSSKB>>10, last.sandboxRSSKB>>10, first.fds, last.fds, first.goroutines, last.goroutines, first.rssKB>>10, last.rssKB>>10, peak.rssKB>>10, wrong, loadTimeouts, errs)
	var leaks []string
	if last.sandboxProcs > first.sandboxProcs {
		leaks = append(leaks, "sandbox processes grew")
	}
	if last.fds > first.fds+8 {
		leaks = append(leaks, "fds grew")
	}
	if last.goroutines > first.goroutines+16 {
		leaks = append(leaks, "goroutines grew")
	}
	if last.rssKB > 2*first.rssKB+64<<10 {
		leaks = append(leaks, "RSS grew")
	}
	if wrong > 0 || errs > 0 {
		leaks = append(leaks, fmt.Sprintf("%d wrong labels, %d errors", wrong, errs))
	}
	if len(leaks) > 0 {
		return fmt.Errorf("soak: %s", strings.Join(leaks, "; "))
	}
	fmt.Fprintln(w, "soak: no growth in processes, fds, goroutines or memory")
	return ctx.Err()
}
