package backoff

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestDelaysDoubleWithinBoundsAndReset(t *testing.T) {
	b := New(10*time.Millisecond, 80*time.Millisecond)
	for i, ceil := range []time.Duration{10, 20, 40, 80, 80, 80} {
		ceil *= time.Millisecond
		if d := b.Next(); d < ceil/2 || d > ceil {
			t.Fatalf("wait %d: %v, want in [%v, %v]", i, d, ceil/2, ceil)
		}
	}
	b.Reset()
	if d := b.Next(); d > 10*time.Millisecond {
		t.Fatalf("after Reset: %v, want ≤ 10ms", d)
	}
}

func TestWaitEndsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	stop := errors.New("stopped")
	cancel(stop)
	start := time.Now()
	if err := New(time.Hour, time.Hour).Wait(ctx); !errors.Is(err, stop) {
		t.Fatalf("Wait = %v, want the context's cause", err)
	}
	if time.Since(start) > time.Second {
		t.Fatal("Wait slept past the end of its context")
	}
}
