// Package backoff is the one retry delay of codeverify: jittered exponential backoff whose waits end
// with the context. The stream runners, the model-server client and the start-up waits all use it.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff doubles its delay from Min up to Max on every Wait; Reset starts again from Min after a
// success. Not safe for concurrent use: one per retry loop.
type Backoff struct {
	Min, Max time.Duration
	cur      time.Duration
}

// New is a backoff from min to max.
func New(min, max time.Duration) *Backoff { return &Backoff{Min: min, Max: max} }

// Reset makes the next Wait the shortest again.
func (b *Backoff) Reset() { b.cur = 0 }

// Next is the delay the next Wait sleeps: uniform in [cur/2, cur], cur doubling from Min to Max, so
// that replicas that failed together do not retry together.
func (b *Backoff) Next() time.Duration {
	b.cur = min(max(2*b.cur, b.Min), b.Max)
	return b.cur/2 + rand.N(b.cur/2+1)
}

// Wait sleeps the next delay, or returns the context's cause when it ends first.
func (b *Backoff) Wait(ctx context.Context) error {
	t := time.NewTimer(b.Next())
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
