package streams

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// TestTail: TailLast starts at the last stored message (or the end of an empty partition), an
// explicit offset replays from there, and messages written later arrive in order until cancel.
func TestTail(t *testing.T) {
	b := startBroker(t)
	ctx := testCtx(t, 30*time.Second)
	full, empty := uniqueName(t, "models"), uniqueName(t, "models")
	if err := EnsureTopics(ctx, brokersOf(b), Catalog{{Name: full, Partitions: 1}, {Name: empty, Partitions: 1}}); err != nil {
		t.Fatal(err)
	}
	msg := func(i int) kafka.Message {
		return kafka.Message{Key: fmt.Appendf(nil, "v%d", i), Value: fmt.Appendf(nil, "event %d", i)}
	}
	publishRaw(t, b, full, msg(0), msg(1), msg(2))

	// follow tails topic from start and returns what it saw once it saw want messages; publish runs
	// once the first message arrived (nil: right away).
	follow := func(topic string, start int64, want int, first bool, publish func()) []string {
		t.Helper()
		tctx, cancel := context.WithCancel(ctx)
		got := make(chan string, 16)
		done := make(chan error, 1)
		go func() {
			done <- Tail(tctx, brokersOf(b), topic, 0, start, func(m Message) {
				got <- fmt.Sprintf("%d:%s=%s", m.Offset, m.Key, m.Value)
			})
		}()
		if publish != nil && !first {
			publish()
		}
		var seen []string
		for len(seen) < want {
			select {
			case s := <-got:
				seen = append(seen, s)
				if publish != nil && first && len(seen) == 1 {
					publish()
				}
			case err := <-done:
				t.Fatalf("tail stopped early: %v (saw %v)", err, seen)
			case <-ctx.Done():
				t.Fatalf("saw %v, want %d messages", seen, want)
			}
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("tail returned %v after cancel, want context.Canceled", err)
		}
		return seen
	}

	// The new message is written once the tail is under way, so it cannot be part of the start.
	later := func() { publishRaw(t, b, full, msg(3)) }
	if got, want := follow(full, TailLast, 2, true, later), []string{"2:v2=event 2", "3:v3=event 3"}; !slices.Equal(got, want) {
		t.Errorf("from TailLast: %v, want %v", got, want)
	}
	if got, want := follow(full, 1, 3, false, nil), []string{"1:v1=event 1", "2:v2=event 2", "3:v3=event 3"}; !slices.Equal(got, want) {
		t.Errorf("from offset 1: %v, want %v", got, want)
	}
	// Empty: the end is offset 0 whether the message lands before or after Tail reads the bounds.
	if got := follow(empty, TailLast, 1, false, func() { publishRaw(t, b, empty, msg(7)) }); got[0] != "0:v7=event 7" {
		t.Errorf("empty partition from TailLast: %v", got)
	}
}
