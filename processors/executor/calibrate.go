package executor

import (
	"context"
	"sync"
	"time"

	"github.com/codeverify/codeverify/schemas"
)

// Timeout calibration (EvalPlus-style): a problem's CPU budget is max(floor, factor × the runtime
// of its reference solution), measured here on this machine, and its wall limit twice that;
// problems without a (passing) reference keep the global default. The zygote enforces the wall
// limit; the CPU rlimit (whole seconds) is a backstop above it.

// Calibration configures Calibrate. Zero values take the defaults.
type Calibration struct {
	Floor  time.Duration // CPU floor, default 100ms (so the wall limit is at least 200ms)
	Factor float64       // default 10
	Max    time.Duration // never above this (default Config.Timeout)
	Runs   int           // runs of each reference; the slowest counts (default 2)
}

// Calibrate measures each problem's reference solution and sets its timeout; it returns how
// many problems were calibrated. Problem.TimeoutMs > 0 still wins over a calibrated value.
func (e *Executor) Calibrate(ctx context.Context, problems []schemas.Problem, c Calibration) (int, error) {
	if c.Floor <= 0 {
		c.Floor = 100 * time.Millisecond
	}
	if c.Factor <= 0 {
		c.Factor = 10
	}
	if c.Max <= 0 {
		c.Max = e.cfg.Timeout
	}
	if c.Runs <= 0 {
		c.Runs = 2
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	n := 0
	sem := make(chan struct{}, 2*e.cfg.Workers)
	for _, p := range problems {
		if p.ReferenceCode == "" || p.Validate() != nil {
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			var slowest time.Duration
			for i := 0; i < c.Runs; i++ {
				r := e.executeUncached(ctx, p, p.ReferenceCode)
				if r.Err != nil || r.Label != schemas.Pass {
					return // no trustworthy reference: keep the default
				}
				slowest = max(slowest, r.Runtime)
			}
			t := min(2*max(c.Floor, time.Duration(c.Factor*float64(slowest))), c.Max)
			e.timeouts.Store(p.ProblemID+"\x00"+p.SuiteHash(), t)
			mu.Lock()
			n++
			mu.Unlock()
		}()
	}
	wg.Wait()
	return n, ctx.Err()
}
