package streams

import (
	"fmt"
	"sync"

	"github.com/segmentio/kafka-go"
)

// slot is one fetched input on its way through the pipeline. Its credit (see Runner.Run) goes back
// exactly once: by the sink after its commit attempt, or, for a slot dropped because its generation
// ended, by whichever of drop and finish comes second.
type slot[In any] struct {
	msg       kafka.Message
	gen       *generation
	in        In
	outs      []kafka.Message
	dead      *kafka.Message // the dead letter, when the input is undeliverable
	abandoned bool           // Process never succeeded (shutdown or revocation): neither write nor commit
	done      chan struct{}  // closed when outs/dead/abandoned are final

	mu                sync.Mutex
	finished, dropped bool
}

func newSlot[In any](m kafka.Message, g *generation) *slot[In] {
	return &slot[In]{msg: m, gen: g, done: make(chan struct{})}
}

func (s *slot[In]) isDone() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// finish publishes the slot's result; it reports whether the caller must return the slot's credit
// (it was dropped meanwhile, so the sink will not).
func (s *slot[In]) finish() (release bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.done)
	s.finished = true
	return s.dropped
}

// drop marks the slot as never to be written or committed; it reports whether the caller must
// return its credit (it is finished, so no worker will).
func (s *slot[In]) drop() (release bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dropped {
		return false
	}
	s.dropped = true
	return s.finished
}

func (s *slot[In]) isDropped() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// tracker decides what one generation may commit. It is made from the generation's assignment
// before anything is fetched, so every fetched input belongs to a known partition. Per partition
// it keeps the fetched slots in offset order; ready pops each partition's finished prefix, and the
// partition's commit is the offset after the last slot popped. Inputs finish out of order, but no
// commit passes an unfinished one, and a slow input holds back only its own partition. It is used
// by the sink goroutine alone.
type tracker[In any] struct {
	parts map[int]*partitionQueue[In]
}

// partitionQueue is one partition's fetched, not yet committed slots, in offset order.
type partitionQueue[In any] struct {
	slots []*slot[In]
	last  int64 // offset of the last slot added
}

func newTracker[In any](partitions []int) *tracker[In] {
	t := &tracker[In]{parts: make(map[int]*partitionQueue[In], len(partitions))}
	for _, p := range partitions {
		t.parts[p] = &partitionQueue[In]{last: -1}
	}
	return t
}

// add queues a freshly fetched slot. A slot of a partition the generation did not assign, or out of
// offset order, is refused: committing around it could skip an input.
func (t *tracker[In]) add(s *slot[In]) error {
	q := t.parts[s.msg.Partition]
	switch {
	case q == nil:
		return fmt.Errorf("partition %d is not assigned to this generation", s.msg.Partition)
	case s.msg.Offset <= q.last:
		return fmt.Errorf("partition %d: offset %d fetched after %d", s.msg.Partition, s.msg.Offset, q.last)
	}
	q.slots = append(q.slots, s)
	q.last = s.msg.Offset
	return nil
}

// ready pops every partition's finished prefix, in offset order per partition. An abandoned slot
// stays at its partition's front for good: nothing behind it may be committed.
func (t *tracker[In]) ready() []*slot[In] {
	var batch []*slot[In]
	for _, q := range t.parts {
		n := 0
		for n < len(q.slots) && q.slots[n].isDone() && !q.slots[n].abandoned {
			n++
		}
		batch = append(batch, q.slots[:n]...)
		clear(q.slots[:n])
		q.slots = q.slots[n:]
	}
	return batch
}

// commits returns, per partition of batch (as ready returned it), the offset to commit: the one
// after its last input.
func commits[In any](batch []*slot[In]) map[int]int64 {
	next := map[int]int64{}
	for _, s := range batch {
		next[s.msg.Partition] = max(next[s.msg.Partition], s.msg.Offset+1)
	}
	return next
}

// idle reports whether nothing more can be committed: every partition is empty or stuck behind an
// abandoned slot.
func (t *tracker[In]) idle() bool {
	for _, q := range t.parts {
		if len(q.slots) > 0 && !(q.slots[0].isDone() && q.slots[0].abandoned) {
			return false
		}
	}
	return true
}

// takeAll removes and returns every queued slot (the generation ended).
func (t *tracker[In]) takeAll() []*slot[In] {
	var all []*slot[In]
	for _, q := range t.parts {
		all = append(all, q.slots...)
		q.slots = nil
	}
	return all
}
