package bench

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	"github.com/codeverify/codeverify/processors/executor"
	"github.com/codeverify/codeverify/schemas"
)

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

// runSoak runs rounds of soakMix for d and fails when processes, fds, goroutines or memory grew, or
// a label was still wrong when re-run alone.
func runSoak(ctx context.Context, w io.Writer, ex *executor.Executor, ps []schemas.Problem, d time.Duration) error {
	if len(ps) == 0 {
		return errNoFastProblems
	}
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
