package streams

import (
	"slices"
	"testing"

	"github.com/segmentio/kafka-go"
)

func trackedSlot(p int, off int64, done bool) *slot[int] {
	s := &slot[int]{msg: kafka.Message{Partition: p, Offset: off}, done: make(chan struct{})}
	if done {
		close(s.done)
	}
	return s
}

func offsets(batch []*slot[int]) map[int][]int64 {
	m := map[int][]int64{}
	for _, s := range batch {
		m[s.msg.Partition] = append(m[s.msg.Partition], s.msg.Offset)
	}
	return m
}

func TestTrackerCommitsEachPartitionsFinishedPrefix(t *testing.T) {
	tr := newTracker[int]()
	slow := trackedSlot(0, 0, false)
	tr.add(slow)
	tr.add(trackedSlot(0, 1, true))
	tr.add(trackedSlot(1, 0, true))
	tr.add(trackedSlot(1, 1, true))
	got := offsets(tr.ready())
	if len(got[0]) != 0 || !slices.Equal(got[1], []int64{0, 1}) {
		t.Fatalf("ready %v: want partition 1's two inputs and nothing of partition 0", got)
	}
	close(slow.done)
	if got := offsets(tr.ready()); !slices.Equal(got[0], []int64{0, 1}) {
		t.Fatalf("ready %v after the slow input finished", got)
	}
	if !tr.idle() {
		t.Error("not idle with nothing queued")
	}
}

func TestTrackerAbandonedSlotBlocksOnlyItsPartition(t *testing.T) {
	tr := newTracker[int]()
	stuck := trackedSlot(0, 5, true)
	stuck.abandoned = true
	tr.add(stuck)
	tr.add(trackedSlot(0, 6, true))
	tr.add(trackedSlot(1, 9, true))
	if got := offsets(tr.ready()); len(got[0]) != 0 || !slices.Equal(got[1], []int64{9}) {
		t.Fatalf("ready %v", got)
	}
	if !tr.idle() {
		t.Error("a partition stuck behind an abandoned input must count as idle")
	}
}

func TestTrackerDropsStateOnRevokeAndRefetch(t *testing.T) {
	tr := newTracker[int]()
	tr.reassign(1, map[int]bool{0: true, 1: true})
	inflight := trackedSlot(0, 10, false)
	tr.add(inflight)
	tr.add(trackedSlot(0, 11, true))
	tr.add(trackedSlot(1, 3, true))

	// Partition 1 is revoked: its finished input must not be written or committed.
	tr.reassign(2, map[int]bool{0: true})
	if got := offsets(tr.ready()); len(got) != 0 {
		t.Fatalf("ready %v after revoking partition 1, want nothing", got)
	}
	if n := tr.reap(); n != 1 {
		t.Errorf("reaped %d, want the revoked partition's finished input", n)
	}
	tr.add(trackedSlot(1, 4, true)) // a stale fetch of the revoked partition
	if got := offsets(tr.ready()); len(got) != 0 || !tr.dropped[0].dropped.Load() {
		t.Fatalf("a stale fetch of a revoked partition was kept: %v", got)
	}

	// Partition 0 is read again from its committed offset 10: the old copies are dropped, so their
	// progress (11 done) cannot commit past the new copy of 10.
	again := trackedSlot(0, 10, false)
	tr.add(again)
	tr.add(trackedSlot(0, 11, true))
	if got := offsets(tr.ready()); len(got) != 0 {
		t.Fatalf("ready %v before the re-fetched input finished", got)
	}
	if !inflight.dropped.Load() {
		t.Error("the old copy still in flight was not marked dropped")
	}
	close(again.done)
	if got := offsets(tr.ready()); !slices.Equal(got[0], []int64{10, 11}) {
		t.Fatalf("ready %v, want the new copies 10 and 11", got)
	}
	close(inflight.done)
	if n := tr.reap(); n != 3 || len(tr.dropped) != 0 {
		t.Errorf("reaped %d, want 3: the stale fetch and the old copies of 10 and 11", n)
	}
}

func TestAssignedPartitions(t *testing.T) {
	type topicPartition struct { // the shape of kafka-go's unexported key
		topic     string
		partition int32
	}
	a := &assignment{topic: "in"}
	if _, parts := a.snapshot(); parts != nil || !a.owns(7) {
		t.Fatal("before any assignment every partition counts as owned")
	}
	parts, ok := a.observe(subscribedFormat, []any{map[topicPartition]int64{{"in", 0}: 5, {"in", 2}: -2, {"other", 1}: 0}})
	if !ok || len(parts) != 2 || !parts[0] || !parts[2] || a.owns(1) {
		t.Fatalf("parts %v ok %v", parts, ok)
	}
	if _, ok := a.observe(subscribedFormat, []any{"something else"}); ok || !a.owns(1) {
		t.Error("an unreadable assignment must fall back to unknown, not keep the old one")
	}
	if _, ok := a.observe("committed offsets for group %s", []any{"g"}); ok {
		t.Error("another log line was taken for an assignment")
	}
}
