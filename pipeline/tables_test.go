package pipeline

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/codeverify/codeverify/schemas"
	"github.com/codeverify/codeverify/streams"
)

// A table that cannot ever read its topic (TLS against a plaintext broker) fails the stage's start
// with its reason at once, instead of leaving it waiting for a catch-up that never comes.
func TestStartTableFailsWhenTheTableStopsBeforeCatchingUp(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	env, codecs, _ := brokerEnv(t)
	env.Security = streams.Security{TLS: &tls.Config{MinVersion: tls.VersionTLS12}}
	start := time.Now()
	_, err := StartProblems(ctx, env, codecs)
	if !errors.Is(err, streams.ErrSecurity) {
		t.Fatalf("StartProblems = %v, want the table's security failure", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("StartProblems took %s", took)
	}
}

// A table that stops after it caught up is logged at ERROR, and lookups through it fail (a retry)
// from then on, even for a problem it holds.
func TestTableThatStopsLaterFailsLookups(t *testing.T) {
	env, _, logs := brokerEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	caughtUp, stop := make(chan struct{}), make(chan struct{})
	close(caughtUp)
	cause := errors.New("lost the broker for good")
	life, err := runTable(ctx, env.Log, streams.TopicProblems, func(context.Context) error { <-stop; return cause }, caughtUp)
	if err != nil {
		t.Fatal(err)
	}
	p := Problems{&table[schemas.Problem]{tableLife: life}}
	if err := p.Err(); err != nil {
		t.Fatalf("Err while running = %v", err)
	}
	close(stop)
	<-life.stopped
	if err := p.Ensure(ctx, "HumanEval/0"); !errors.Is(err, cause) || streams.IsPermanent(err) {
		t.Errorf("Ensure on a stopped table = %v, want its cause, not permanent", err)
	}
	if !strings.Contains(logs.String(), `"level":"ERROR"`) || !strings.Contains(logs.String(), cause.Error()) {
		t.Errorf("no ERROR log with the cause: %s", logs.String())
	}
}

// A table stopped by the end of its context is no failure worth an ERROR.
func TestTableStoppedByItsContextLogsNothing(t *testing.T) {
	env, _, logs := brokerEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	caughtUp := make(chan struct{})
	close(caughtUp)
	life, err := runTable(ctx, env.Log, streams.TopicProblems, func(ctx context.Context) error { <-ctx.Done(); return nil }, caughtUp)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	<-life.stopped
	if !errors.Is(life.Err(), context.Canceled) {
		t.Errorf("Err = %v, want the context's", life.Err())
	}
	if s := logs.String(); strings.Contains(s, "ERROR") {
		t.Errorf("logged an error on shutdown: %s", s)
	}
}
