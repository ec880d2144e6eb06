package streams

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/codeverify/codeverify/internal/backoff"
)

// retry calls fn until it succeeds or ctx ends, backing off between tries and logging each failure
// as a warning; an ErrSecurity failure, which no retry cures, ends it at once with that error. It
// does nothing when needed is false (so callers can keep one straight sequence of steps).
func retry(ctx context.Context, log *slog.Logger, what string, fn func() error, needed bool) error {
	if !needed {
		return nil
	}
	bo := backoff.New(100*time.Millisecond, 30*time.Second)
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil {
			return nil
		}
		if errors.Is(err, ErrSecurity) {
			return fmt.Errorf("%s: %w", what, err)
		}
		log.Warn(what+" failed, will retry", "attempt", attempt, "err", err)
		if werr := bo.Wait(ctx); werr != nil {
			return fmt.Errorf("%s: %w (last error: %v)", what, werr, err)
		}
	}
}

// drainContext returns a context that outlives ctx by d: work started before shutdown gets d to
// finish (write, commit) once ctx is cancelled.
func drainContext(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		select {
		case <-dctx.Done():
			return
		case <-ctx.Done():
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			cancel()
		case <-dctx.Done():
		}
	}()
	return dctx, cancel
}

// unlessDone returns a context that ends with parent or as soon as done is closed (e.g. the end of a
// consumer-group generation).
func unlessDone(parent context.Context, done <-chan struct{}) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	go func() {
		select {
		case <-done:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}
