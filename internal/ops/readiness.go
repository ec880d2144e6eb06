package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/codeverify/codeverify/streams"
)

// Readiness is what /readyz reports: a fixed set of named checks, each failing until it is told
// otherwise. Some are set once (a table caught up), others are re-checked periodically (the
// broker, ClickHouse), so /readyz turns 503 again when a dependency goes away.
type Readiness struct {
	mu    sync.Mutex
	names []string
	state map[string]error
}

// errNotYet is the state of a check that has not passed yet.
var errNotYet = errors.New("not yet")

// ReadinessEvery is how often watched checks run; each gets this long to answer.
const ReadinessEvery = 5 * time.Second

// Check names shared by the stages.
const (
	CheckKafka      = "kafka"      // a bootstrap broker answers
	CheckClickHouse = "clickhouse" // the server answers a ping
	CheckTables     = "tables"     // the stage's tables (problems, tests) read their topics to the end
	CheckStarted    = "consumers"  // the stage's consumers are built and running
)

// NewReadiness returns checks named names, all failing ("not yet").
func NewReadiness(names ...string) *Readiness {
	r := &Readiness{names: names, state: map[string]error{}}
	for _, n := range names {
		r.state[n] = errNotYet
	}
	return r
}

// Set records a check's result: nil passes. A name NewReadiness was not given is added.
func (r *Readiness) Set(name string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.state[name]; !ok {
		r.names = append(r.names, name)
	}
	r.state[name] = err
}

// Watch runs check at once and then every ReadinessEvery until ctx ends, recording each result.
func (r *Readiness) Watch(ctx context.Context, name string, check func(context.Context) error) {
	r.WatchEvery(ctx, name, ReadinessEvery, check)
}

// WatchEvery is Watch with its period given.
func (r *Readiness) WatchEvery(ctx context.Context, name string, every time.Duration, check func(context.Context) error) {
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			cctx, cancel := context.WithTimeout(ctx, every)
			err := check(cctx)
			cancel()
			if ctx.Err() != nil {
				return
			}
			r.Set(name, err)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// WatchKafka re-checks the brokers of cluster periodically under CheckKafka.
func (r *Readiness) WatchKafka(ctx context.Context, cluster streams.Cluster) {
	r.Watch(ctx, CheckKafka, func(ctx context.Context) error { return streams.Reachable(ctx, cluster) })
}

// Report says whether every check passes, and one line per check.
func (r *Readiness) Report() (bool, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ok := true
	var b strings.Builder
	for _, n := range r.names {
		if err := r.state[n]; err != nil {
			ok = false
			fmt.Fprintf(&b, "%s: FAIL: %v\n", n, err)
		} else {
			fmt.Fprintf(&b, "%s: ok\n", n)
		}
	}
	return ok, b.String()
}
