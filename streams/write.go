package streams

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
	"unsafe"

	"github.com/codeverify/codeverify/internal/backoff"
	"github.com/segmentio/kafka-go"
)

// outbound is one message to write, with what to write instead should it never fit.
type outbound struct {
	msg   kafka.Message
	input kafka.Message // the input it came from, which an output's replacement dead letter carries
	dead  bool          // msg is a dead letter
	bare  bool          // msg is a dead letter already stripped to headers and a key prefix
}

// recordWriter writes outputs and dead letters (acks=all) so that nothing waits forever on a
// message that can never be written: a batch the broker refuses as too large is retried message by
// message, and a message too large even alone is replaced — an output by a dead letter of its input
// that names it, a dead letter by a bare one — while any other failure is retried with backoff.
type recordWriter struct {
	w            *kafka.Writer
	transport    *kafka.Transport
	cluster      Cluster
	deadMaxBytes int
	log          *slog.Logger
	failed       func() // counts a failed attempt
}

func newRecordWriter(c Cluster, batchBytes, deadMaxBytes int, log *slog.Logger, failed func()) *recordWriter {
	w, tr := c.newWriter("")
	// A dead letter is at most deadMaxBytes, so it always passes the writer's own size check.
	w.BatchBytes = int64(max(batchBytes, deadMaxBytes))
	if failed == nil {
		failed = func() {}
	}
	return &recordWriter{w: w, transport: tr, cluster: c, deadMaxBytes: deadMaxBytes, log: log, failed: failed}
}

func (rw *recordWriter) Close() error {
	err := rw.w.Close()
	rw.transport.CloseIdleConnections()
	return err
}

// write returns nil once every message (or its replacement) is stored, or ctx's error; messages may
// have been written either way (at-least-once).
func (rw *recordWriter) write(ctx context.Context, items []outbound) error {
	pending := items
	bo := backoff.New(100*time.Millisecond, 30*time.Second)
	for len(pending) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		msgs := make([]kafka.Message, len(pending))
		for i, o := range pending {
			msgs[i] = o.msg
		}
		err := rw.w.WriteMessages(ctx, msgs...)
		if err == nil {
			return nil
		}
		var tooBig kafka.MessageTooLargeError
		var perMsg kafka.WriteErrors
		switch {
		case errors.As(err, &tooBig):
			// The writer refused before sending anything: one message exceeds its batch bytes.
			i := indexOf(pending, tooBig.Message)
			next := append([]outbound(nil), pending[:i]...)
			if repl, ok := rw.replace(pending[i], fmt.Sprintf("%d bytes, over the writer's limit of %d", msgSize(pending[i].msg), rw.w.BatchBytes)); ok {
				next = append(next, repl)
			}
			pending = append(next, pending[i+1:]...)
			continue
		case errors.As(err, &perMsg) && len(perMsg) == len(pending):
			var retry []outbound
			progressed := false // something was written or replaced: retry the rest at once
			for i, e := range perMsg {
				switch {
				case e == nil:
					progressed = true
				case errors.Is(e, kafka.MessageSizeTooLarge) && len(pending) > 1:
					// Its batch was too large; alone it may fit.
					if err := rw.write(ctx, pending[i:i+1]); err != nil {
						return err
					}
					progressed = true
				case errors.Is(e, kafka.MessageSizeTooLarge):
					if repl, ok := rw.replace(pending[i], fmt.Sprintf("%d bytes, refused by the broker as too large", msgSize(pending[i].msg))); ok {
						retry = append(retry, repl)
					}
					progressed = true
				default:
					retry = append(retry, pending[i])
				}
			}
			if progressed {
				pending = retry
				bo.Reset()
				continue
			}
		}
		rw.failed()
		rw.log.Warn("write failed, will retry", "messages", len(pending), "err", rw.cluster.explain(err))
		if werr := bo.Wait(ctx); werr != nil {
			return werr
		}
	}
	return nil
}

// replace returns what to write instead of o, which can never be written; false when nothing can
// be (a bare dead letter refused: the dead-letter topic's limit is below a few KiB).
func (rw *recordWriter) replace(o outbound, why string) (outbound, bool) {
	switch {
	case !o.dead:
		dl := outputDeadLetter(o.input, o.msg, "output to "+o.msg.Topic+" cannot be written: "+why, rw.deadMaxBytes)
		rw.log.Warn("output replaced by a dead letter", "topic", o.msg.Topic, "why", why,
			"input_topic", o.input.Topic, "partition", o.input.Partition, "offset", o.input.Offset)
		return outbound{msg: dl, input: o.input, dead: true}, true
	case !o.bare:
		rw.log.Warn("dead letter stripped to its headers", "topic", o.msg.Topic, "why", why,
			"input_topic", o.input.Topic, "partition", o.input.Partition, "offset", o.input.Offset)
		return outbound{msg: bareDeadLetter(o.msg), input: o.input, dead: true, bare: true}, true
	default:
		rw.failed()
		rw.log.Error("dead letter cannot be written at all, dropped", "topic", o.msg.Topic, "why", why,
			"input_topic", o.input.Topic, "partition", o.input.Partition, "offset", o.input.Offset)
		return outbound{}, false
	}
}

func msgSize(m kafka.Message) int { return len(m.Key) + len(m.Value) + headersSize(m.Headers) }

// indexOf finds m, a copy of one of the messages in items, by its topic and the arrays its key and
// value share with the original; failing that, it returns the largest message's index.
func indexOf(items []outbound, m kafka.Message) int {
	largest := 0
	for i, o := range items {
		if o.msg.Topic == m.Topic && len(o.msg.Value) == len(m.Value) && len(o.msg.Key) == len(m.Key) &&
			unsafe.SliceData(o.msg.Value) == unsafe.SliceData(m.Value) && unsafe.SliceData(o.msg.Key) == unsafe.SliceData(m.Key) {
			return i
		}
		if msgSize(o.msg) > msgSize(items[largest].msg) {
			largest = i
		}
	}
	return largest
}
