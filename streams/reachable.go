package streams

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Reachable returns nil as soon as one of the bootstrap brokers answers a Kafka handshake, trying
// them all at once so that a dead or silent first address costs nothing. When none answers before
// ctx ends it returns one error line naming every address and its cause. One-shot commands call it
// with a bounded ctx before they do anything; long-running processors keep retrying instead.
func Reachable(ctx context.Context, c Cluster) error {
	brokers := c.Brokers
	if len(brokers) == 0 {
		return errors.New("no Kafka brokers configured")
	}
	if err := c.Security.Validate(); err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		i   int
		err error
	}
	results := make(chan result, len(brokers))
	for i, addr := range brokers {
		go func() {
			conn, err := c.dial(ctx, addr)
			if err == nil {
				// The dial sends ApiVersions only lazily; ask for it so a port that accepts TCP but
				// does not speak Kafka (or a broker that never answers) is not taken as reachable.
				if dl, ok := ctx.Deadline(); ok {
					_ = conn.SetDeadline(dl)
				}
				_, err = conn.ApiVersions()
				err = c.explain(err)
				conn.Close()
			}
			results <- result{i, err}
		}()
	}
	causes := make([]string, len(brokers))
	for range brokers {
		r := <-results
		if r.err == nil {
			return nil
		}
		cause := r.err.Error()
		if ctx.Err() != nil {
			cause = "no answer: " + cause
		}
		causes[r.i] = brokers[r.i] + " (" + cause + ")"
	}
	return fmt.Errorf("no Kafka broker reachable: %s", strings.Join(causes, "; "))
}
