package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/codeverify/codeverify/internal/config"
	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/streams"
)

// tableSyncTimeout bounds how long a stage waits for a table to read what its topic holds before an
// event whose row is missing is retried (not dead-lettered).
const tableSyncTimeout = 30 * time.Second

// startTable runs topic as an in-memory table until ctx ends and returns once it has read what the
// topic held at start. While the broker is down it keeps trying (with a warning per attempt).
func startTable[T any](ctx context.Context, env *config.Env, topic string, codec *schemas.Codec[T]) (*table[T], error) {
	t, err := streams.NewTable(streams.TableConfig[T]{Cluster: env.Cluster(), Topic: topic, Codec: codec, Log: env.Log})
	if err != nil {
		return nil, err
	}
	life, err := runTable(ctx, env.Log, topic, t.Run, t.CaughtUp())
	if err != nil {
		return nil, err
	}
	if n := t.Bad(); n > 0 {
		env.Log.Warn("undecodable records skipped", "topic", topic, "count", n)
	}
	return &table[T]{Table: t, tableLife: life}, nil
}

// table is a started table together with whether it still follows its topic.
type table[T any] struct {
	*streams.Table[T]
	*tableLife
}

// tableLife tells whether a table's Run still runs.
type tableLife struct {
	stopped chan struct{} // closed once Run returned
	err     error         // why; set before stopped is closed
}

// Err is nil while the table follows its topic, and why it stopped once it does not. A stage looks
// it up before it trusts the table: a stopped table no longer sees new or changed rows.
func (l *tableLife) Err() error {
	select {
	case <-l.stopped:
		return l.err
	default:
		return nil
	}
}

// runTable starts run (a table's Run) and waits until caughtUp is closed. A table that stops
// before it caught up fails the start with its error (a security failure: refused credentials, an
// untrusted certificate); one that stops later while ctx still runs is logged at ERROR, and its
// Err says why from then on.
func runTable(ctx context.Context, log *slog.Logger, topic string, run func(context.Context) error, caughtUp <-chan struct{}) (*tableLife, error) {
	l := &tableLife{stopped: make(chan struct{})}
	go func() {
		err := run(ctx)
		switch {
		case ctx.Err() != nil:
			err = fmt.Errorf("table %s stopped: %w", topic, ctx.Err())
		case err == nil:
			err = fmt.Errorf("table %s stopped following its topic", topic)
		}
		select {
		case <-caughtUp:
			if ctx.Err() == nil {
				log.Error("table stopped; the stage retries its events until restarted", "topic", topic, "err", err)
			}
		default:
		}
		l.err = err
		close(l.stopped)
	}()
	select {
	case <-caughtUp:
		return l, nil
	case <-l.stopped:
		return nil, l.err
	case <-ctx.Done():
		return nil, fmt.Errorf("table %s not caught up: %w", topic, ctx.Err())
	}
}

// Problems serves a stage's problem lookups from the problems table.
type Problems struct {
	t *table[schemas.Problem]
}

// StartProblems runs the problems table until ctx ends; it returns once the table has read what
// the topic held at start.
func StartProblems(ctx context.Context, env *config.Env, codecs *schemas.Codecs) (Problems, error) {
	t, err := startTable(ctx, env, streams.TopicProblems, codecs.Problem)
	if err != nil {
		return Problems{}, fmt.Errorf("problems table: %w", err)
	}
	return Problems{t}, nil
}

// Problem is the newest version of problem id the table has read.
func (p Problems) Problem(id string) (schemas.Problem, bool) { return p.t.Get(id) }

// Len is how many problems the table holds.
func (p Problems) Len() int { return p.t.Len() }

// Err is nil while the table follows the problems topic, and why it stopped once it does not.
func (p Problems) Err() error { return p.t.Err() }

// Ensure makes sure a miss is real: when the table lacks id, it waits until the table has read
// everything the topic holds now, so an event published right after its problem finds it. Only a
// problem that was never published stays missing (the processor then refuses the event as
// permanent, and it is dead-lettered); a table that cannot sync (broker down) or that stopped is
// an error worth a retry.
func (p Problems) Ensure(ctx context.Context, id string) error {
	if err := p.t.Err(); err != nil {
		return fmt.Errorf("problems table: %w", err)
	}
	if _, ok := p.t.Get(id); ok {
		return nil
	}
	sctx, cancel := context.WithTimeout(ctx, tableSyncTimeout)
	defer cancel()
	if err := p.t.Sync(sctx); err != nil {
		return fmt.Errorf("problems table: %w", err)
	}
	return nil
}

// testsLookup serves the executor's generated tests from the tests table: the newest test set
// published for a problem.
type testsLookup struct {
	t *table[schemas.TestCase]
}

// GeneratedTests is the newest test set of problemID, when it has asserts.
func (l testsLookup) GeneratedTests(problemID string) ([]schemas.GeneratedAssert, bool) {
	tc, ok := l.t.Get(problemID)
	if !ok || len(tc.Asserts) == 0 {
		return nil, false
	}
	return tc.Asserts, true
}
