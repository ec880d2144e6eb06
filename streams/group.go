package streams

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/codeverify/codeverify/internal/backoff"
	"github.com/segmentio/kafka-go"
)

// What the Runner and RunBatches share of consumer-group membership: joining generation after
// generation, and committing with a generation's id and never after it ended.

// groupTimeouts are a member's timeouts; see RunnerConfig.SessionTimeout for their meaning.
type groupTimeouts struct {
	session, heartbeat, rebalance time.Duration
}

// withDefaults fills zero timeouts and says what is wrong with the rest.
func (t groupTimeouts) withDefaults() (groupTimeouts, error) {
	if t.session < 0 || t.heartbeat < 0 || t.rebalance < 0 {
		return t, errors.New("negative group timeout")
	}
	if t.session == 0 {
		t.session = 6 * time.Second
	}
	if t.heartbeat == 0 {
		t.heartbeat = time.Second
	}
	if t.rebalance == 0 {
		t.rebalance = 10 * time.Second
	}
	if t.heartbeat >= t.session {
		return t, errors.New("heartbeat interval not below the session timeout")
	}
	return t, nil
}

// newConsumerGroup makes a member of group for topic. A new group reads from the beginning. Its
// errors come back from Next, which joinGenerations logs; what it logs itself is rebalancing
// chatter, for errLog at debug level.
func newConsumerGroup(c Cluster, group, topic string, t groupTimeouts, errLog kafka.LoggerFunc) (*kafka.ConsumerGroup, error) {
	cg, err := c.newConsumerGroup(kafka.ConsumerGroupConfig{
		ID:                group,
		Topics:            []string{topic},
		HeartbeatInterval: t.heartbeat,
		SessionTimeout:    t.session,
		RebalanceTimeout:  t.rebalance,
		JoinGroupBackoff:  500 * time.Millisecond, // joinGenerations' own backoff spaces the attempts
		StartOffset:       kafka.FirstOffset,
		ErrorLogger:       errLog,
	})
	if err != nil {
		return nil, fmt.Errorf("streams: consumer group: %w", err)
	}
	return cg, nil
}

// joinGenerations joins the group generation after generation until stopping ends, and runs
// consume for each one in the generation's goroutine, with a context that ends with the generation.
// consume must return once that context ends. At shutdown the last generation is held (heartbeats
// go on) until the caller closes the group, so that no member rejoins only to leave. While the
// broker cannot be reached it keeps trying, with backoff and a warning per attempt; failed counts
// each failed attempt. A security failure (refused credentials, an untrusted certificate: no
// retry cures them) ends it with that error; otherwise it returns nil.
func joinGenerations(stopping context.Context, cg *kafka.ConsumerGroup, c Cluster, log *slog.Logger, failed func(),
	consume func(gctx context.Context, kg *kafka.Generation)) error {
	bo := backoff.New(100*time.Millisecond, 5*time.Second)
	for stopping.Err() == nil {
		kg, err := cg.Next(stopping)
		if err != nil {
			if stopping.Err() != nil {
				return nil
			}
			if err := c.explain(err); errors.Is(err, ErrSecurity) {
				failed()
				log.Error("cannot join the consumer group", "err", err)
				return fmt.Errorf("streams: join consumer group: %w", err)
			}
			if errors.Is(err, kafka.RebalanceInProgress) { // a rebalance is how one joins: not a failure
				log.Info("joining the consumer group", "err", err)
			} else {
				failed()
				log.Warn("cannot join the consumer group, will retry", "err", err)
			}
			if bo.Wait(stopping) != nil {
				return nil
			}
			continue
		}
		bo.Reset()
		finished := make(chan struct{})
		kg.Start(func(gctx context.Context) {
			consume(gctx, kg)
			close(finished)
			if stopping.Err() != nil {
				<-gctx.Done()
			}
		})
		<-finished
	}
	return nil
}

// commitGeneration commits offsets (partition → next offset to read) of topic with the
// generation's id, retrying transient failures with backoff. It reports false, having committed
// nothing, once ctx ended (the generation ended, or the caller ran out of time) or the broker
// refused the commit because the generation is over: those partitions may be someone else's
// already, and their inputs will be redelivered to them. The broker's refusal of an old generation
// id closes the gap between the check of ctx and the commit's arrival.
func commitGeneration(ctx context.Context, kg *kafka.Generation, topic string, offsets map[int]int64, log *slog.Logger, failed func()) bool {
	bo := backoff.New(100*time.Millisecond, 5*time.Second)
	for {
		if ctx.Err() != nil {
			return false
		}
		err := kg.CommitOffsets(map[string]map[int]int64{topic: offsets})
		if err == nil {
			return true
		}
		failed()
		if generationOver(err) {
			log.Info("commit refused, the generation is over; the inputs will be redelivered", "generation", kg.ID, "err", err)
			return false
		}
		log.Warn("commit failed, will retry", "partitions", len(offsets), "err", err)
		if bo.Wait(ctx) != nil {
			return false
		}
	}
}

// generationOver reports whether a commit error means the member's generation ended.
func generationOver(err error) bool {
	return errors.Is(err, kafka.IllegalGeneration) || errors.Is(err, kafka.RebalanceInProgress) ||
		errors.Is(err, kafka.UnknownMemberId) || errors.Is(err, kafka.FencedInstanceID)
}

// assignedPartitions returns the generation's partitions of topic, sorted, with their start offsets.
func assignedPartitions(kg *kafka.Generation, topic string) ([]int, []kafka.PartitionAssignment) {
	assigned := kg.Assignments[topic]
	parts := make([]int, len(assigned))
	for i, a := range assigned {
		parts[i] = a.ID
	}
	slices.Sort(parts)
	return parts, assigned
}

// kafkaLogAt routes kafka-go's logs to log at level.
func kafkaLogAt(log *slog.Logger, level slog.Level) kafka.LoggerFunc {
	return func(msg string, args ...any) {
		if log.Enabled(context.Background(), level) {
			log.Log(context.Background(), level, "kafka: "+fmt.Sprintf(msg, args...))
		}
	}
}
