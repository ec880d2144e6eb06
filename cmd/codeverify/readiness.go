package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/codeverify/codeverify/streams"
)

// readiness is what /readyz reports: a fixed set of named checks, each failing until it is told
// otherwise. Some are set once (a table caught up), others are re-checked periodically (the
// broker, ClickHouse), so /readyz turns 503 again when a dependency goes away.
type readiness struct {
	mu    sync.Mutex
	names []string
	state map[string]error
}

// errNotYet is the state of a check that has not passed yet.
var errNotYet = errors.New("not yet")

// readinessEvery is how often watched checks run; each gets this long to answer.
const readinessEvery = 5 * time.Second

// newReadiness returns checks named names, all failing ("not yet").
func newReadiness(names ...string) *readiness {
	r := &readiness{names: names, state: map[string]error{}}
	for _, n := range names {
		r.state[n] = errNotYet
	}
	return r
}

// set records a check's result: nil passes. A name newReadiness was not given is added.
func (r *readiness) set(name string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.state[name]; !ok {
		r.names = append(r.names, name)
	}
	r.state[name] = err
}

// watch runs check now and then every readinessEvery until ctx ends, recording each result.
func (r *readiness) watch(ctx context.Context, name string, check func(context.Context) error) {
	r.watchEvery(ctx, name, readinessEvery, check)
}

func (r *readiness) watchEvery(ctx context.Context, name string, every time.Duration, check func(context.Context) error) {
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
			r.set(name, err)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// report says whether every check passes, and one line per check.
func (r *readiness) report() (bool, string) {
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

// Check names shared by the commands.
const (
	checkKafka      = "kafka"      // a bootstrap broker answers
	checkClickHouse = "clickhouse" // the server answers a ping
	checkTables     = "tables"     // the stage's tables (problems, tests) read their topics to the end
	checkStarted    = "consumers"  // the stage's consumers are built and running
)

// watchKafka re-checks the brokers periodically under checkKafka.
func (a *app) watchKafka(ctx context.Context, rd *readiness) {
	rd.watch(ctx, checkKafka, func(ctx context.Context) error { return streams.Reachable(ctx, a.Cluster()) })
}
