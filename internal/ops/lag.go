package ops

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/codeverify/codeverify/streams"
)

// LagEvery is how often consumer lag is polled.
const LagEvery = 15 * time.Second

// Consumed names one consumer group's input topic, for the lag metric.
type Consumed struct{ Group, Topic string }

// WatchLag polls the lag of each group on its topic every so often until ctx ends. A failed poll
// keeps the last values and logs at debug level: /readyz already says when the broker is away.
func (m *StageMetrics) WatchLag(ctx context.Context, cluster streams.Cluster, log *slog.Logger, every time.Duration, groups ...Consumed) {
	if m == nil {
		return
	}
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			for _, g := range groups {
				pctx, cancel := context.WithTimeout(ctx, every)
				lags, err := streams.GroupLag(pctx, cluster, g.Group, g.Topic)
				cancel()
				if err != nil {
					log.Debug("consumer lag", "group", g.Group, "topic", g.Topic, "err", err)
					continue
				}
				var total int64
				for _, l := range lags {
					m.lag.WithLabelValues(g.Group, g.Topic, strconv.Itoa(l.Partition)).Set(float64(l.Lag))
					total += l.Lag
				}
				m.mu.Lock()
				m.groupLag[g.Group] = total
				m.mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}
