package pipeline

import (
	"context"
	"fmt"
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
func startTable[T any](ctx context.Context, env *config.Env, topic string, codec *schemas.Codec[T]) (*streams.Table[T], error) {
	t, err := streams.NewTable(streams.TableConfig[T]{Cluster: env.Cluster(), Topic: topic, Codec: codec, Log: env.Log})
	if err != nil {
		return nil, err
	}
	go func() { _ = t.Run(ctx) }()
	if err := t.WaitCaughtUp(ctx); err != nil {
		return nil, err
	}
	if n := t.Bad(); n > 0 {
		env.Log.Warn("undecodable records skipped", "topic", topic, "count", n)
	}
	return t, nil
}

// Problems serves a stage's problem lookups from the problems table.
type Problems struct {
	t *streams.Table[schemas.Problem]
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

// Ensure makes sure a miss is real: when the table lacks id, it waits until the table has read
// everything the topic holds now, so an event published right after its problem finds it. Only a
// problem that was never published stays missing (the processor then refuses the event as
// permanent, and it is dead-lettered); a table that cannot sync (broker down) is an error worth a
// retry.
func (p Problems) Ensure(ctx context.Context, id string) error {
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
	t *streams.Table[schemas.TestCase]
}

// GeneratedTests is the newest test set of problemID, when it has asserts.
func (l testsLookup) GeneratedTests(problemID string) ([]schemas.GeneratedAssert, bool) {
	tc, ok := l.t.Get(problemID)
	if !ok || len(tc.Asserts) == 0 {
		return nil, false
	}
	return tc.Asserts, true
}
