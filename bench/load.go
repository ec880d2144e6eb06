package bench

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/codeverify/codeverify/processors/executor"
	"github.com/codeverify/codeverify/schemas"
)

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

// printLoad prints one line of a load run: rate, latency percentiles, verdict kinds, wrong labels
// and errors.
func printLoad(w io.Writer, name string, r loadResult) {
	kinds := make([]string, 0, len(r.kinds))
	for k, v := range r.kinds {
		kinds = append(kinds, k+"="+strconv.Itoa(v))
	}
	sort.Strings(kinds)
	fmt.Fprintf(w, "%-40s %6d candidates in %7.2fs: %7.1f candidates/s  p50 %6.2fms  p99 %7.2fms  [%s] wrong=%d errors=%d\n",
		name+":", r.n, r.elapsed.Seconds(), r.rate, ms(r.p50), ms(r.p99), strings.Join(kinds, " "), r.wrong, r.infraErrs)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
