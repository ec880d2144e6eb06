package main

import (
	"context"
	"fmt"
	"time"

	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/streams"
)

// tableSyncTimeout bounds how long a stage waits for a table to read what its topic holds before an
// event whose row is missing is retried (not dead-lettered).
const tableSyncTimeout = 30 * time.Second

// startTable runs topic as an in-memory table until ctx ends and returns once it has read what the
// topic held at start. While the broker is down it keeps trying (with a warning per attempt).
func startTable[T any](ctx context.Context, a *app, topic string, codec *schemas.Codec[T]) (*streams.Table[T], error) {
	t, err := streams.NewTable(streams.TableConfig[T]{Cluster: a.Cluster(), Topic: topic, Codec: codec, Log: a.Log})
	if err != nil {
		return nil, err
	}
	go func() { _ = t.Run(ctx) }()
	if err := t.WaitCaughtUp(ctx); err != nil {
		return nil, err
	}
	if n := t.Bad(); n > 0 {
		a.Log.Warn("undecodable records skipped", "topic", topic, "count", n)
	}
	return t, nil
}

// problemLookup serves a stage's problem lookups from the problems table.
type problemLookup struct {
	t *streams.Table[schemas.Problem]
}

func (l problemLookup) Problem(id string) (schemas.Problem, bool) { return l.t.Get(id) }

// ensure makes sure a miss is real: when the table lacks id, it waits until the table has read
// everything the topic holds now, so an event published right after its problem finds it. Only a
// problem that was never published stays missing (and the event is dead-lettered by the stage); a
// table that cannot sync (broker down) is an error worth a retry.
func (l problemLookup) ensure(ctx context.Context, id string) error {
	if _, ok := l.t.Get(id); ok {
		return nil
	}
	sctx, cancel := context.WithTimeout(ctx, tableSyncTimeout)
	defer cancel()
	if err := l.t.Sync(sctx); err != nil {
		return fmt.Errorf("problems table: %w", err)
	}
	return nil
}

func (a *app) problemsTable(ctx context.Context, codecs *schemas.Codecs) (problemLookup, error) {
	t, err := startTable(ctx, a, streams.TopicProblems, codecs.Problem)
	if err != nil {
		return problemLookup{}, fmt.Errorf("problems table: %w", err)
	}
	return problemLookup{t}, nil
}

// testsLookup serves the executor's generated tests from the tests table: the newest test set
// published for a problem.
type testsLookup struct {
	t *streams.Table[schemas.TestCase]
}

func (l testsLookup) GeneratedTests(problemID string) ([]schemas.GeneratedAssert, bool) {
	tc, ok := l.t.Get(problemID)
	if !ok || len(tc.Asserts) == 0 {
		return nil, false
	}
	return tc.Asserts, true
}
