package executor

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/codeverify/codeverify/schemas"
)

// TestZygoteIsolation: what the zygote reports in force, and that it holds.
func TestZygoteIsolation(t *testing.T) {
	e := newExecutor(t, Config{Timeout: 2 * time.Second, CacheSize: -1})
	iso := e.Isolation()
	t.Logf("isolation: %s", iso)
	if !strings.HasPrefix(iso.Root, "read-only") || !iso.NoNewPrivs || !strings.HasPrefix(iso.Seccomp, "deny-list") || iso.Proc != "private" {
		t.Errorf("isolation not in force: %s", iso)
	}
	if os.Geteuid() == 0 && (iso.UID == 0 || iso.HostUID != nobodyID || !strings.HasPrefix(iso.Cgroup, "v1")) {
		t.Errorf("as root: want a non-zero uid mapped to nobody and v1 cgroups: %s", iso)
	}
	p := addProblem()
	for _, c := range []struct{ code, label string }{
		{"import os\nassert os.getuid() != 0 or %v\n" + goodAdd, schemas.Pass},
		{"open('/tmp/x', 'w').write('x')\nopen('scratch', 'w').write('x')\n" + goodAdd, schemas.Pass},
		{"import os\nassert not os.path.exists('/tmp/x')\n" + goodAdd, schemas.Pass}, // /tmp wiped between jobs
		{"open('/etc/codeverify-probe', 'w')\n" + goodAdd, schemas.Fail},
	} {
		code := strings.Replace(c.code, "%v", strconv.FormatBool(os.Geteuid() != 0), 1)
		if r := e.Execute(context.Background(), p, code); r.Label != c.label {
			t.Errorf("%q: got %s/%s %s, want %s", code, r.Label, r.Kind, r.Detail, c.label)
		}
	}
}

// mbpp2 is a realistic MBPP candidate with its three asserts.
func mbpp2() (schemas.Problem, string) {
	p := schemas.Problem{ProblemID: "mbpp/2", TestStyle: schemas.StyleAsserts, Tests: []string{
		"assert similar_elements((3, 4, 5, 6),(5, 7, 4, 10)) == (4, 5)",
		"assert similar_elements((1, 2, 3, 4),(5, 4, 3, 7)) == (3, 4)",
		"assert similar_elements((11, 12, 14, 13),(17, 15, 14, 13)) == (13, 14)",
	}}
	return p, "def similar_elements(test_tup1, test_tup2):\r\n  res = tuple(sorted(set(test_tup1) & set(test_tup2)))\r\n  return (res) \r\n"
}

// BenchmarkBackends compares the two backends on one realistic candidate.
func BenchmarkBackends(b *testing.B) {
	p, code := mbpp2()
	for _, backend := range []string{BackendZygote, BackendSimple} {
		b.Run("backend="+backend, func(b *testing.B) {
			e := newExecutor(b, Config{Backend: backend, Workers: benchWorkers(backend), CacheSize: -1})
			b.SetParallelism(4)
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if r := e.Execute(context.Background(), p, code); r.Label != schemas.Pass {
						b.Errorf("%+v", r)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "candidates/s")
		})
	}
}

func benchWorkers(backend string) int {
	if n, err := strconv.Atoi(os.Getenv("CV_WORKERS")); err == nil && backend == BackendZygote {
		return n
	}
	return 0
}

// TestRecyclesCounted: a worker that dies under its candidate, or whose job is abandoned, is
// replaced and counted; a well-behaved candidate leaves its worker in the pool.
func TestRecyclesCounted(t *testing.T) {
	e := newExecutor(t, Config{Timeout: 5 * time.Second, Backend: BackendZygote, Workers: 1, CacheSize: -1})
	p := addProblem()
	base := e.Recycles() // start-up probes
	if r := e.Execute(context.Background(), p, goodAdd); r.Label != schemas.Pass || e.Recycles() != base {
		t.Fatalf("a clean run: %+v, recycles %d → %d", r, base, e.Recycles())
	}

	// The worker dies mid-job (what a candidate that escaped and killed it would cause): the job is
	// retried on a fresh worker and the dead one counted.
	slow := "import time\ntime.sleep(1)\n" + goodAdd
	done := make(chan Result, 1)
	go func() { done <- e.Execute(context.Background(), p, slow) }()
	time.Sleep(300 * time.Millisecond)
	e.pool.mu.Lock()
	for w := range e.pool.all {
		_ = w.cmd.Process.Kill()
	}
	e.pool.mu.Unlock()
	if r := <-done; r.Label != schemas.Pass {
		t.Errorf("after the worker died: %+v", r)
	}
	if got := e.Recycles(); got != base+1 {
		t.Errorf("recycles %d, want %d", got, base+1)
	}

	// A job abandoned by its context: the worker's state is unknown, so it is replaced.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if r := e.Execute(ctx, p, "import time\ntime.sleep(3)\n"+goodAdd); r.Err == nil {
		t.Errorf("abandoned job has a label: %+v", r)
	}
	if got := e.Recycles(); got != base+2 {
		t.Errorf("recycles %d, want %d", got, base+2)
	}
}
