package streams

import (
	"maps"
	"slices"
	"testing"

	"github.com/segmentio/kafka-go"
)

func trackedSlot(p int, off int64, done bool) *slot[int] {
	s := newSlot[int](kafka.Message{Partition: p, Offset: off}, nil)
	if done {
		s.finish()
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

func mustAdd(t *testing.T, tr *tracker[int], s *slot[int]) {
	t.Helper()
	if err := tr.add(s); err != nil {
		t.Fatal(err)
	}
}

// The first input of a partition the generation just assigned may finish after later ones: it is
// tracked from the start (the assignment is known before anything is fetched), and no commit of its
// partition passes it.
func TestTrackerNeverCommitsPastTheFirstInputOfANewPartition(t *testing.T) {
	tr := newTracker[int]([]int{0, 1})
	first := trackedSlot(1, 0, false)
	mustAdd(t, tr, first)
	mustAdd(t, tr, trackedSlot(1, 1, true))
	mustAdd(t, tr, trackedSlot(0, 7, true))
	batch := tr.ready()
	if got := offsets(batch); len(got[1]) != 0 || !slices.Equal(got[0], []int64{7}) {
		t.Fatalf("ready %v while offset 0 of partition 1 is unfinished: a commit would skip it", got)
	}
	if c := commits(batch); !maps.Equal(c, map[int]int64{0: 8}) {
		t.Errorf("commits %v, want partition 0 at 8 only", c)
	}
	first.finish()
	batch = tr.ready()
	if got := offsets(batch); !slices.Equal(got[1], []int64{0, 1}) {
		t.Fatalf("ready %v, want partition 1's offsets 0 and 1", got)
	}
	if c := commits(batch); !maps.Equal(c, map[int]int64{1: 2}) {
		t.Errorf("commits %v, want partition 1 at 2", c)
	}
}

func TestTrackerRefusesWhatItCannotCommitSafely(t *testing.T) {
	tr := newTracker[int]([]int{0})
	if err := tr.add(trackedSlot(3, 0, true)); err == nil {
		t.Error("a slot of an unassigned partition was accepted")
	}
	mustAdd(t, tr, trackedSlot(0, 5, false))
	if err := tr.add(trackedSlot(0, 5, true)); err == nil {
		t.Error("a slot out of offset order was accepted")
	}
	if got := tr.ready(); len(got) != 0 {
		t.Errorf("ready %v", offsets(got))
	}
}

func TestTrackerCommitsEachPartitionsFinishedPrefix(t *testing.T) {
	tr := newTracker[int]([]int{0, 1})
	slow := trackedSlot(0, 0, false)
	mustAdd(t, tr, slow)
	mustAdd(t, tr, trackedSlot(0, 1, true))
	mustAdd(t, tr, trackedSlot(1, 0, true))
	mustAdd(t, tr, trackedSlot(1, 1, true))
	got := offsets(tr.ready())
	if len(got[0]) != 0 || !slices.Equal(got[1], []int64{0, 1}) {
		t.Fatalf("ready %v: want partition 1's two inputs and nothing of partition 0", got)
	}
	slow.finish()
	if got := offsets(tr.ready()); !slices.Equal(got[0], []int64{0, 1}) {
		t.Fatalf("ready %v after the slow input finished", got)
	}
	if !tr.idle() {
		t.Error("not idle with nothing queued")
	}
}

func TestTrackerAbandonedSlotBlocksOnlyItsPartition(t *testing.T) {
	tr := newTracker[int]([]int{0, 1})
	stuck := newSlot[int](kafka.Message{Partition: 0, Offset: 5}, nil)
	stuck.abandoned = true
	stuck.finish()
	mustAdd(t, tr, stuck)
	mustAdd(t, tr, trackedSlot(0, 6, true))
	mustAdd(t, tr, trackedSlot(1, 9, true))
	if got := offsets(tr.ready()); len(got[0]) != 0 || !slices.Equal(got[1], []int64{9}) {
		t.Fatalf("ready %v", got)
	}
	if !tr.idle() {
		t.Error("a partition stuck behind an abandoned input must count as idle")
	}
	if left := tr.takeAll(); len(left) != 2 {
		t.Errorf("takeAll returned %d slots, want the 2 stuck ones", len(left))
	}
}

// A dropped slot's credit goes back exactly once, whether its worker finishes before or after the
// drop.
func TestSlotCreditReturnsOnce(t *testing.T) {
	a := newSlot[int](kafka.Message{}, nil)
	if a.drop() || !a.finish() {
		t.Error("dropped before finishing: finish must return the credit")
	}
	b := newSlot[int](kafka.Message{}, nil)
	if b.finish() || !b.drop() || b.drop() {
		t.Error("finished before dropping: the first drop, and only it, must return the credit")
	}
}
