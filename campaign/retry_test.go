package campaign

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/codeverify/codeverify/streams"
)

// retry retries what may pass later, stops at once on a security failure, and ends with ctx.
func TestRetry(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	ctx := context.Background()
	calls := 0
	if err := retry(ctx, log, "flaky", func() error {
		if calls++; calls < 3 {
			return errors.New("broker away")
		}
		return nil
	}); err != nil || calls != 3 {
		t.Errorf("flaky: %v after %d calls, want success after 3", err, calls)
	}

	calls = 0
	if err := retry(ctx, log, "refused", func() error { calls++; return fmt.Errorf("auth: %w", streams.ErrSecurity) }); !errors.Is(err, streams.ErrSecurity) || calls != 1 {
		t.Errorf("refused: %v after %d calls, want ErrSecurity after 1", err, calls)
	}

	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := retry(cctx, log, "down", func() error { return errors.New("broker away") }); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("down: %v, want the context's error", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("down: returned after %s", took)
	}
}
